#!/usr/bin/env python3
"""PyTorch (+ NumPy) side of bench/suites/train.ts: one whole training iteration of the rDL SIM
modules at the reference network sizes, written plainly, timed the way the TypeScript side is
(warm-up iterations, then the per-iteration wall time from batch preparation to the Adam step and
the loss read back). Prints a JSON array of results named torch.<benchmark> (ms), plus the peak RSS
of this process and, for the denoiser, the NumPy illumination fit's own time.

What one iteration contains, on both sides:
  sr       pick 4 samples (with replacement) of the preloaded uint16 data, random 128x128 crop
           (the whole 128x128 sample here, as on our side), min-max of each sample's 9 frames and of
           its 256x256 target, then of the batch as a whole; DFCAN forward; mse_ssim loss
           (MSE + 0.1 (1 - SSIM), 11x11 Gaussian sigma 1.5, valid); backward; Adam (lr 1e-4).
  denoise  one cycle (3 orientations x 3 phases, 128x128): min-max of input and target over their
           9 frames; the illumination fit on the target frames (NumPy, made once per sample and
           cached, as our side does: with one training sample it lands in the warm-up, so it is
           timed separately below); the frozen DFCAN forward on the input under no_grad; its
           256x256 output min-max normalized and 2x2-mean pooled to the raw grid; MPE with NumPy
           FFTs (min-max normalized pattern * SR, FFT, x OTF, |IFFT|, joint min-max over the 9
           frames); intensity equalization (each orientation scaled to orientation 0's mean) of
           input and target; denoiser forward on the batch of 3 orientations, mse_ssim,
           backward, Adam.

The networks (DFCAN, the rDL denoiser) and mse_ssim are the ones of models_bench.py; that script
runs its benchmark at import, so its definitions are taken from its source (between its argument
parsing and its benchmark code) and executed here. The data: the TypeScript side reads simulated
TIFF files, which this interpreter may not be able to read (no tifffile), so the same shapes are
simulated here in NumPy and preloaded (file reading is not part of either side's timed iteration:
our loader caches the files and reads the next batch's behind the current step).

usage: train_bench.py --case sr|denoise --threads N [--device cpu] [--warmup 2] [--iters 4]
       [--pixel-um 0.0626 --na 1.49 --em-nm 525 --spacing-um 0.1957 --angles a0,a1,a2]
"""
import argparse
import json
import math
import os
import resource
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--case', required=True, choices=['sr', 'denoise'])
p.add_argument('--threads', type=int, required=True)
p.add_argument('--device', default='cpu')
p.add_argument('--warmup', type=int, default=2)
p.add_argument('--iters', type=int, default=4)
p.add_argument('--pixel-um', type=float, default=0.0626)
p.add_argument('--na', type=float, default=1.49)
p.add_argument('--em-nm', type=float, default=525.0)
p.add_argument('--spacing-um', type=float, default=0.488 / 1.35 / 2)
p.add_argument('--angles', default='1.48,2.5272,3.5744')
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)
N = 128  # raw side; the SR side is 2N

# --- The networks and the loss of models_bench.py -------------------------------------------------
_src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'models_bench.py')).read()
_defs = _src[_src.index('\ndef c3('):_src.index('\ng = torch.Generator(')]
_ns = {'torch': torch, 'nn': torch.nn, 'F': F, 'math': math, 'dev': dev}
exec(compile(_defs, 'models_bench.py', 'exec'), _ns)
DFCAN, Denoiser, mse_ssim = _ns['DFCAN'], _ns['Denoiser'], _ns['mse_ssim']


def minmax(x):
    """The reference's prctile_norm: (x - min) / (max - min + 1e-7) over the whole array."""
    return (x - x.min()) / (x.max() - x.min() + 1e-7)


def sync():
    if dev.type == 'cuda':
        torch.cuda.synchronize()


# --- Optics and simulated data (NumPy) ------------------------------------------------------------
dx = a.pixel_um
cutoff = 2 * a.na / (a.em_nm / 1000)  # cycles/um
kmag = 1 / a.spacing_um
angles = [float(v) for v in a.angles.split(',')]
fy = np.fft.fftfreq(N, dx)[:, None]
fx = np.fft.fftfreq(N, dx)[None, :]
yy, xx = np.meshgrid((np.arange(N) - N / 2) * dx, (np.arange(N) - N / 2) * dx, indexing='ij')


def otf_at(rho):
    """A synthetic radial OTF (the incoherent circular-pupil one), 0 beyond 2NA/lambda."""
    s = np.clip(rho / cutoff, 0, 1)
    return (2 / np.pi) * (np.arccos(s) - s * np.sqrt(1 - s * s))


OTF = otf_at(np.hypot(fy, fx))  # FFT order


def pattern(k, phase, j):
    """2 + 2cos(2pi k.r + phase + 2pi j/3), min-max normalized (as the reference's MPE block)."""
    return minmax(2 + 2 * np.cos(2 * np.pi * (k[0] * xx + k[1] * yy) + phase + 2 * np.pi * j / 3))


def simulate_cycle(rng, photons):
    """9 frames (orientation-major) of random filaments under the setup's patterns, Poisson noise, uint16."""
    truth = np.zeros((N, N))
    for _ in range(30):
        x0, y0, t = rng.uniform(0, N), rng.uniform(0, N), rng.uniform(0, np.pi)
        s = np.arange(-N, N)
        xs, ys = (x0 + s * np.cos(t)).astype(int), (y0 + s * np.sin(t)).astype(int)
        ok = (xs >= 0) & (xs < N) & (ys >= 0) & (ys < N)
        truth[ys[ok], xs[ok]] = 1
    frames = []
    for th in angles:
        k = (kmag * np.cos(th), kmag * np.sin(th))
        for j in range(3):
            img = np.real(np.fft.ifft2(np.fft.fft2(truth * pattern(k, 0.3, j)) * OTF))
            frames.append(rng.poisson(np.clip(img, 0, None) / max(img.max(), 1e-9) * photons) + 100)
    return np.array(frames, dtype=np.uint16)


# --- The illumination fit (NumPy), after the reference's cal_modamp -----------------------------
def apodize(img, n=10):
    w = np.ones(N)
    ramp = np.sin((np.arange(n) + 0.5) / n * np.pi / 2) ** 2
    w[:n], w[-n:] = ramp, ramp[::-1]
    return img * w[:, None] * w[None, :]


PHASE_MIX = np.linalg.inv(np.array([[1, np.exp(1j * 2 * np.pi * j / 3), np.exp(-1j * 2 * np.pi * j / 3)]
                                    for j in range(3)]))


def fit_orientation(frames3, start_angle):
    """k0 (cycles/um, [x, y]) and phase of one orientation: bands separated from the 3 phases, a
    coarse peak of the band-0 x band-1 cross-correlation near the expected k0, then the reference's
    hill climb (angle steps of 1 mrad, magnitude steps of 0.1 dk) on the OTF-weighted overlap,
    each evaluation one shifted band-1 FFT."""
    spectra = np.fft.fft2(np.array([apodize(f - f.mean()) for f in frames3.astype(np.float64)]))
    bands = np.tensordot(PHASE_MIX, spectra, axes=1)  # [0, +1, -1] orders
    b0 = bands[0] * OTF
    b1r = np.fft.ifft2(bands[1] * OTF)
    dk = 1 / (N * dx)
    # Coarse: the cross-correlation over integer shifts (one FFT), searched around the expected k0.
    # Band +1 is the sample spectrum moved to +k0: conj(band 0) x band 1 in real space peaks at +k0.
    xc = np.abs(np.fft.fft2(np.conj(np.fft.ifft2(b0)) * b1r))
    kr, ka = np.hypot(fy, fx), np.arctan2(fy, fx)
    near = (np.abs(kr - kmag) < 0.1 * kmag) & (np.abs(np.angle(np.exp(1j * (ka - start_angle)))) < 0.2)
    iy, ix = np.unravel_index(np.argmax(np.where(near, xc, -1)), xc.shape)
    mag, ang = float(kr[iy, ix]), float(ka[iy, ix])

    def overlap(mag, ang):
        k = (mag * np.cos(ang), mag * np.sin(ang))
        # Band 1 moved back by k (sub-pixel, in real space) and band 0 seen through OTF(f + k).
        shifted = np.fft.fft2(b1r * np.exp(-2j * np.pi * (k[0] * xx + k[1] * yy)))
        o1 = otf_at(np.hypot(fy + k[1], fx + k[0]))
        mask = (OTF > 0.005) & (o1 > 0.005)
        c = np.sum((b0 * o1 * np.conj(shifted * OTF))[mask]) / (np.sum(np.abs(b0 * o1)[mask] ** 2) + 1e-12)
        return abs(c), c

    best, c = overlap(mag, ang)
    for _ in range(100):  # hill climb until no neighbour improves (bounded)
        moved = False
        for dm, da in ((0, 1e-3), (0, -1e-3), (0.1 * dk, 0), (-0.1 * dk, 0)):
            v, cv = overlap(mag + dm, ang + da)
            if v > best:
                best, c, mag, ang, moved = v, cv, mag + dm, ang + da, True
                break
        if not moved:
            break
    return (mag * np.cos(ang), mag * np.sin(ang)), float(-np.angle(c))


def fit_cycle(frames9):
    return [fit_orientation(frames9[3 * d:3 * d + 3], angles[d]) for d in range(3)]


# --- The two iterations ---------------------------------------------------------------------------
def sr_iteration():
    rng = np.random.default_rng(0)
    data = [(rng.integers(100, 4000, (9, N, N), dtype=np.uint16),
             rng.integers(0, 60000, (2 * N, 2 * N), dtype=np.uint16)) for _ in range(8)]
    model = DFCAN().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    side = 128

    def step():
        picks = [data[i] for i in rng.integers(0, len(data), 4)]
        xs, ys = [], []
        for inp, tgt in picks:
            y0, x0 = rng.integers(0, N - side + 1, 2)
            xs.append(minmax(inp[:, y0:y0 + side, x0:x0 + side].astype(np.float32)))
            ys.append(minmax(tgt[None, 2 * y0:2 * (y0 + side), 2 * x0:2 * (x0 + side)].astype(np.float32)))
        x = torch.from_numpy(minmax(np.stack(xs))).to(dev)
        y = torch.from_numpy(minmax(np.stack(ys))).to(dev)
        opt.zero_grad(set_to_none=True)
        loss = mse_ssim(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
    return step, {}


def denoise_iteration():
    rng = np.random.default_rng(0)
    # One training sample, as on our side: a noisy cycle and its high-SNR cycle.
    sample = (simulate_cycle(rng, 100), simulate_cycle(rng, 2000))
    sr_model = DFCAN().to(dev).eval()
    model = Denoiser().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
    fits = {}
    fit_ms = []

    def patterns_of(key, frames):
        if key not in fits:
            t0 = time.perf_counter()
            fits[key] = fit_cycle(frames)
            fit_ms.append((time.perf_counter() - t0) * 1000)
        return fits[key]

    def equalize(f):  # [3, 3, N, N]: each orientation scaled to orientation 0's mean
        m = f.mean(axis=(1, 2, 3))
        return f * (m[0] / m)[:, None, None, None]

    def step():
        noisy, clean = sample
        inp = minmax(noisy.astype(np.float32))
        tgt = minmax(clean.astype(np.float32))
        pats = patterns_of(0, clean)  # fitted on the target frames, cached per sample
        with torch.no_grad():
            sr = sr_model(torch.from_numpy(inp[None]).to(dev))[0, 0]
            sr = F.avg_pool2d(((sr - sr.min()) / (sr.max() - sr.min() + 1e-7))[None, None], 2)[0, 0]
        sr = sr.cpu().numpy().astype(np.float64)
        mpe = np.empty((3, 3, N, N))
        for d, (k, phase) in enumerate(pats):
            for j in range(3):
                mpe[d, j] = np.abs(np.fft.ifft2(np.fft.fft2(pattern(k, phase, j) * sr) * OTF))
        mpe = minmax(mpe).astype(np.float32)
        x_in = torch.from_numpy(equalize(inp.reshape(3, 3, N, N))).to(dev)
        y = torch.from_numpy(equalize(tgt.reshape(3, 3, N, N))).to(dev)
        opt.zero_grad(set_to_none=True)
        loss = mse_ssim(model(torch.from_numpy(mpe).to(dev), x_in), y)
        loss.backward()
        opt.step()
        loss.item()
    return step, {'fit_ms': fit_ms, 'fit': lambda: fit_cycle(sample[1])}


name = {'sr': 'train.sr_iter_b4_128', 'denoise': 'train.denoise_iter_128'}[a.case]
step, extra = (sr_iteration if a.case == 'sr' else denoise_iteration)()
for _ in range(a.warmup):
    step()
sync()
samples = []
for _ in range(a.iters):
    t0 = time.perf_counter()
    step()
    sync()
    samples.append((time.perf_counter() - t0) * 1000)


def res(n, unit, s):
    return {'name': n, 'unit': unit, 'median': statistics.median(s), 'min': min(s), 'max': max(s), 'n': len(s)}


out = [res(f'torch.{name}', 'ms', samples)]
if 'fit' in extra:
    fit_samples = []
    for _ in range(3):  # the fit alone, after its first (cached) call in the warm-up
        t0 = time.perf_counter()
        extra['fit']()
        fit_samples.append((time.perf_counter() - t0) * 1000)
    out.append(res('torch.train.denoise_fit_128', 'ms', fit_samples))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
out.append(res(f'torch.{name}.peak_rss_mb', 'MB', [peak]))
print(json.dumps(out))
