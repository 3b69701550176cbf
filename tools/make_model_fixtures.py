"""Writes the network fixtures of test/models/ (run once with Debian's /usr/bin/python3: torch,
numpy, scipy, h5py).

An independent implementation of the reference networks (qc17-THU/rDL-SIM, models/*.py): it
follows the Keras code's own layout — channels last, kernels HWIO / DHWIO in the weight file,
TensorFlow's depth_to_space order, the reference's quadrant fftshift and its NSM built on a
centred frequency grid — using PyTorch only for the arithmetic. Each network is built at a small
configuration with random weights, saved as a Keras 2 `save_weights` HDF5 file, and run on a
fixed input; inputs and outputs go to a safetensors file next to it.

Also writes the loss fixture: mse_ssim / mse_ssim_3d / mse_gar computed with scipy as TensorFlow
does (tf.image.ssim: 11×11 Gaussian σ 1.5, valid filtering, k1 0.01, k2 0.03).

    /usr/bin/python3 tools/make_model_fixtures.py
"""
import json
import math
import os
import struct

import h5py
import numpy as np
import scipy.signal
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'models')
torch.set_default_dtype(torch.float64)  # the fixture's truth in double; the engine runs float32


# ----------------------------------------------------------------------------- Keras-like layers
class Builder:
    """Creates weighted layers in order, named as Keras names them (conv2d, conv2d_1, …)."""

    def __init__(self, seed, first_index=0):
        self.rng = np.random.default_rng(seed)
        self.layers = []  # (name, [(weight name, array)])
        self.counts = {}
        self.first_index = first_index

    def name(self, cls):
        n = self.counts.get(cls, self.first_index if cls.startswith('conv') else 0)
        self.counts[cls] = n + 1
        return cls if n == 0 else f'{cls}_{n}'

    def conv(self, dims, cin, cout, k, act=None):
        name = self.name('conv2d' if dims == 2 else 'conv3d')
        taps = k ** dims
        lim = math.sqrt(6 / (taps * cin + taps * cout))
        kernel = self.rng.uniform(-lim, lim, (k,) * dims + (cin, cout)).astype(np.float32)
        bias = (self.rng.standard_normal(cout) * 0.05).astype(np.float32)
        self.layers.append((name, [(f'{name}/kernel:0', kernel), (f'{name}/bias:0', bias)]))
        kt, bt = torch.from_numpy(kernel).double(), torch.from_numpy(bias).double()

        def apply(x):
            # x channels last. Keras kernel axes are (spatial…, in, out) over the input's spatial
            # axes in their own order; torch wants (out, in, spatial…) over channels-first data.
            perm_x = (0, dims + 1) + tuple(range(1, dims + 1))
            w = kt.permute((dims + 1, dims) + tuple(range(dims)))
            conv = F.conv2d if dims == 2 else F.conv3d
            y = conv(x.permute(perm_x), w, bt, padding='same' if k > 1 else 0)
            y = y.permute((0,) + tuple(range(2, dims + 2)) + (1,))
            return {'relu': torch.relu, 'sigmoid': torch.sigmoid, None: lambda t: t}[act](y)

        return apply

    def nsm(self, cls, cutoff, slope, dxy, scoped):
        name = self.name(cls)
        p = f'{name}/' if scoped else ''
        self.layers.append((name, [(f'{p}cutoff_freq:0', np.array([cutoff], np.float32)),
                                   (f'{p}slop:0', np.array([slope], np.float32)),
                                   (f'{p}dxy:0', np.array(dxy, np.float32))]))


def lrelu(x):
    return F.leaky_relu(x, 0.2)


def gelu(x):
    return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def quadrant_shift(x, axes=(1, 2)):
    """The reference's fftshift: quadrants concatenated from row -h//2 on, i.e. from row h//2."""
    for ax in axes:
        n = x.shape[ax]
        s = n // 2
        x = torch.cat([x.narrow(ax, s, n - s), x.narrow(ax, 0, s)], ax)
    return x


# ----------------------------------------------------------------------------- DFCAN
def apodize2d(img, n=10):
    b, ny, nx, ch = img.shape
    fact = torch.tensor(1 - np.sin((np.arange(n) + 0.5) / n * np.pi / 2))
    up, down = img[:, :n], img[:, ny - n:]
    diff = (torch.flip(down, [1]) - up) / 2
    factor = diff * fact[None, :, None, None]
    img = torch.cat([up + factor, img[:, n:ny - n], down - torch.flip(factor, [1])], 1)
    left, right = img[:, :, :n], img[:, :, nx - n:]
    diff = (torch.flip(right, [2]) - left) / 2
    factor = diff * fact[None, None, :, None]
    return torch.cat([left + factor, img[:, :, n:nx - n], right - torch.flip(factor, [2])], 2)


def fca(b, ch, red, size):
    conv_spec = b.conv(2, ch, ch, 3, 'relu')
    down = b.conv(2, ch, ch // red, 1, 'relu')
    up = b.conv(2, ch // red, ch, 1, 'sigmoid')

    def apply(x):
        a = apodize2d(x).permute(0, 3, 1, 2)
        amp = torch.pow(torch.abs(torch.fft.fft2(a.to(torch.complex128))) + 1e-8, 0.1).permute(0, 2, 3, 1)
        s = quadrant_shift(amp)
        if s.shape[1] != size or s.shape[2] != size:
            s = F.interpolate(s.permute(0, 3, 1, 2), (size, size), mode='bilinear', align_corners=False).permute(0, 2, 3, 1)
        w = conv_spec(s).mean((1, 2), keepdim=True)
        return x * up(down(w))
    return apply


def dfcan(b, cin, ch, groups, blocks, red, size, scale):
    head = b.conv(2, cin, ch, 3)
    body = []
    for _ in range(groups):
        fcabs = []
        for _ in range(blocks):
            c1, c2 = b.conv(2, ch, ch, 3), b.conv(2, ch, ch, 3)
            fcabs.append((c1, c2, fca(b, ch, red, size)))
        body.append(fcabs)
    ups = b.conv(2, ch, ch * scale ** 2, 3)
    out = b.conv(2, ch, 1, 3, 'sigmoid')

    def apply(x):
        h = gelu(head(x))
        for fcabs in body:
            g = h
            for c1, c2, att in fcabs:
                g = att(gelu(c2(gelu(c1(g))))) + g
            h = g + h
        u = gelu(ups(h))
        bs, hh, ww, cc = u.shape
        c = cc // scale ** 2
        # depth_to_space: output (y·s + i, x·s + j, c) = input (y, x, (i·s + j)·C + c)
        u = u.reshape(bs, hh, ww, scale, scale, c).permute(0, 1, 3, 2, 4, 5).reshape(bs, hh * scale, ww * scale, c)
        return out(u)
    return apply


# ----------------------------------------------------------------------------- RCAN blocks
def rcab(b, dims, ch, red):
    c1, c2 = b.conv(dims, ch, ch, 3), b.conv(dims, ch, ch, 3)
    down = b.conv(dims, ch, ch // red, 1, 'relu')
    up = b.conv(dims, ch // red, ch, 1, 'sigmoid')
    axes = tuple(range(1, dims + 1))

    def apply(x):
        h = lrelu(c2(lrelu(c1(x))))
        return h * up(down(h.mean(axes, keepdim=True))) + x
    return apply


def group(b, dims, ch, blocks, red, skip):
    rs = [rcab(b, dims, ch, red) for _ in range(blocks)]

    def apply(x):
        h = x
        for r in rs:
            h = r(h)
        return h + x if skip else h
    return apply


def nsm2d(cutoff, slope, dxy):
    def apply(x):
        bs, ny, nx, ch = x.shape
        y = torch.arange(-ny // 2, ny // 2) / (ny * dxy)
        xx = torch.arange(-nx // 2, nx // 2) / (nx * dxy)
        my, mx = torch.meshgrid(y, xx, indexing='ij')
        mask = torch.sigmoid((cutoff - torch.sqrt(mx ** 2 + my ** 2)) * slope)[None, :, :, None]
        spec = quadrant_shift(torch.fft.fft2(x.permute(0, 3, 1, 2).to(torch.complex128)).permute(0, 2, 3, 1))
        return torch.fft.ifft2(quadrant_shift(spec * mask).permute(0, 3, 1, 2)).real.permute(0, 2, 3, 1)
    return apply


def denoiser(b, ch, feat, groups, blocks, red, tail, nsm=None, nsm_feat=8):
    if nsm is not None:
        b.nsm('nsm', *nsm, scoped=True)
        filt = nsm2d(*nsm)
        nconv, pconv = b.conv(2, ch, nsm_feat, 3), b.conv(2, ch, nsm_feat, 3)
    branches = []
    for i, n in enumerate(groups[:2]):
        cin = ch if (i == 0 or nsm is None) else 2 * nsm_feat
        head = b.conv(2, cin, feat, 3)
        gs = [group(b, 2, feat, blocks, red, True) for _ in range(n)]
        body = b.conv(2, feat, feat, 3)
        branches.append((head, gs, body))
    merge = b.conv(2, feat, feat, 3)
    trunk = [group(b, 2, feat, blocks, red, True) for _ in range(groups[2])]
    tconv = b.conv(2, feat, tail, 3)
    down, up = b.conv(2, tail, tail // red, 1, 'relu'), b.conv(2, tail // red, tail, 1, 'sigmoid')
    out = b.conv(2, tail, ch, 3)

    def branch(p, x):
        head, gs, body = p
        h0 = head(x)
        h = lrelu(h0)
        for g in gs:
            h = g(h)
        return lrelu(body(h + h0))

    def apply(mpe, raw):
        r = raw if nsm is None else torch.cat([nconv(filt(raw)), pconv(raw)], 3)
        m = lrelu(merge(branch(branches[0], mpe) + branch(branches[1], r)))
        h = m
        for g in trunk:
            h = g(h)
        t = lrelu(tconv(h + m))
        t = t * up(down(t.mean((1, 2), keepdim=True)))
        return lrelu(out(t))
    return apply


def nsm3d(cutoff, slope, dxy):
    def apply(x):  # x (B, Y, X, Z, C)
        bs, ny, nx, nz, ch = x.shape
        y = torch.arange(-ny // 2, ny // 2) / (ny * dxy)
        xx = torch.arange(-nx // 2, nx // 2) / (nx * dxy)
        my, mx = torch.meshgrid(y, xx, indexing='ij')
        mask = torch.sigmoid((cutoff - torch.sqrt(mx ** 2 + my ** 2)) * slope)
        t = x.permute(0, 3, 4, 1, 2).to(torch.complex128)
        spec = torch.fft.fftshift(torch.fft.fft2(t))  # every axis, as tf.signal.fftshift without axes
        o = torch.fft.ifft2(torch.fft.fftshift(spec * mask))
        return o.real.permute(0, 3, 4, 1, 2)
    return apply


def rcan3d(b, ch, feat, groups, blocks, red, tail, nsm=None):
    head = b.conv(3, ch, feat, 3)
    if nsm is not None:
        b.nsm('noise_suppression_module', *nsm, scoped=False)
        filt = nsm3d(*nsm)
        nconv = b.conv(3, ch, feat, 3)
    gs = [group(b, 3, feat, blocks, red, False) for _ in range(groups)]
    tconv = b.conv(3, feat, tail, 3)
    out = b.conv(3, tail, ch, 3)

    def apply(x):
        h = head(x)
        if nsm is not None:
            h = h + nconv(filt(x))
        for g in gs:
            h = g(h)
        return lrelu(out(lrelu(tconv(h))))
    return apply


# ----------------------------------------------------------------------------- files
def write_keras_h5(path, b, extra_layers, seed):
    """A Keras 2 save_weights file; layer_names in a shuffled order (importers must not rely on it)."""
    names = [n for n, _ in b.layers] + extra_layers
    order = np.random.default_rng(seed).permutation(len(names))
    with h5py.File(path, 'w') as f:
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.4.0'
        f.attrs['layer_names'] = np.array([names[i].encode() for i in order])
        weights = dict(b.layers)
        for n in names:
            g = f.create_group(n)
            ws = weights.get(n, [])
            g.attrs['weight_names'] = np.array([w.encode() for w, _ in ws], dtype='S')
            for wn, arr in ws:
                g.create_dataset(wn, data=arr)


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        a = np.ascontiguousarray(v, dtype=np.float32)
        header[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    if metadata:
        header['__metadata__'] = metadata
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def run(net, *inputs):
    with torch.no_grad():
        return net(*[torch.from_numpy(i).double() for i in inputs]).numpy()


def case(name, b, net, inputs, extra=('input_1', 'lambda', 'leaky_re_lu')):
    out = run(net, *inputs)
    write_keras_h5(os.path.join(OUT, f'{name}.h5'), b, list(extra), seed=len(name))
    tensors = {f'input{i}': x for i, x in enumerate(inputs)}
    tensors['output'] = out
    write_safetensors(os.path.join(OUT, f'{name}.io.safetensors'), tensors,
                      {'layout': 'keras (channels last)', 'generator': 'tools/make_model_fixtures.py'})
    print(name, [x.shape for x in inputs], '→', out.shape, f'|out| mean {np.abs(out).mean():.4f}')


# ----------------------------------------------------------------------------- losses
def tf_ssim_planes(x, y):
    """tf.image.ssim(x, y, max_val=1) for planes (N, H, W), mean over everything."""
    coords = np.arange(11) - 5.0
    g = np.exp(-0.5 * coords ** 2 / 1.5 ** 2)
    g /= g.sum()
    win = np.outer(g, g)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    vals = []
    for a, b in zip(x, y):
        f = lambda t: scipy.signal.correlate2d(t, win, mode='valid')
        mx, my = f(a), f(b)
        lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
        cs = (2 * (f(a * b) - mx * my) + c2) / (f(a * a + b * b) - mx ** 2 - my ** 2 + c2)
        vals.append((lum * cs).mean())
    return float(np.mean(vals))


def norm(t):
    return (t - t.min()) / (t.max() - t.min())


def losses():
    rng = np.random.default_rng(7)
    gt2 = rng.uniform(0, 3, (2, 16, 16, 2))  # Keras layout (B, H, W, C)
    pr2 = gt2 * 0.8 + rng.normal(0, 0.3, gt2.shape)
    x, y = norm(gt2), norm(pr2)
    planes = lambda t: t.transpose(0, 3, 1, 2).reshape(-1, t.shape[1], t.shape[2])
    mse_ssim = float(np.mean((y - x) ** 2) + 0.1 * (1 - tf_ssim_planes(planes(x), planes(y))))
    gt3 = rng.uniform(0, 3, (1, 16, 16, 4, 1))  # (B, Y, X, Z, C)
    pr3 = gt3 + rng.normal(0, 0.5, gt3.shape)
    x3, y3 = norm(gt3), norm(pr3)
    planes3 = lambda t: t.transpose(0, 4, 3, 1, 2).reshape(-1, t.shape[1], t.shape[2])
    mse_ssim_3d = float(np.mean((y3 - x3) ** 2) + 0.1 * (1 - tf_ssim_planes(planes3(x3), planes3(y3))))
    gar = rng.normal(0, 0.2, gt3.shape)
    mse_gar = float(np.mean((gt3 - pr3) ** 2) + np.mean((gt3 - pr3 - gar) ** 2))
    write_safetensors(os.path.join(OUT, 'losses.safetensors'),
                      {'gt2d': gt2, 'pred2d': pr2, 'gt3d': gt3, 'pred3d': pr3, 'gar3d': gar},
                      {'mse_ssim': repr(mse_ssim), 'mse_ssim_3d': repr(mse_ssim_3d), 'mse_gar': repr(mse_gar),
                       'layout': 'keras (channels last)'})
    print('losses', mse_ssim, mse_ssim_3d, mse_gar)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1)

    b = Builder(11)
    net = dfcan(b, 9, 16, 2, 2, 4, 24, 2)  # spectra resized 32 → 24: exercises the bilinear path
    case('dfcan', b, net, [rng.uniform(0, 1, (2, 32, 32, 9))])

    b = Builder(12, first_index=83)  # as if a DFCAN had been built first in the same session
    net = denoiser(b, 3, 16, (1, 2, 1), 2, 4, 32)
    case('denoiser', b, net, [rng.uniform(0, 1, (2, 32, 32, 3)), rng.uniform(0, 1, (2, 32, 32, 3))])

    b = Builder(13)
    net = denoiser(b, 3, 16, (1, 1, 1), 2, 4, 32, nsm=(3.7, 3.0, 0.0626))
    case('denoiser_nsm', b, net, [rng.uniform(0, 1, (2, 32, 32, 3)), rng.uniform(0, 1, (2, 32, 32, 3))])

    b = Builder(14)
    net = rcan3d(b, 2, 8, 2, 2, 4, 16)
    case('rcan3d', b, net, [rng.uniform(0, 1, (1, 16, 16, 8, 2))])

    b = Builder(15)
    net = rcan3d(b, 2, 8, 1, 2, 4, 16, nsm=(2.9, 2.5, 0.0926))
    case('rcan3d_nsm', b, net, [rng.uniform(0, 1, (2, 16, 16, 8, 2))])

    losses()


if __name__ == '__main__':
    main()
