"""PyTorch side of bench/suites/models.ts: the same networks (reference configurations), written
plainly with torch.nn, timed the same way. Prints a JSON array with one result:
torch.<case> in ms."""
import argparse, json, math, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--case', required=True)
p.add_argument('--threads', type=int, required=True)
p.add_argument('--device', default='cpu')
p.add_argument('--iters', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)


def c3(cin, cout, dims=2):
    return (nn.Conv2d if dims == 2 else nn.Conv3d)(cin, cout, 3, padding=1)


def c1(cin, cout, dims=2):
    return (nn.Conv2d if dims == 2 else nn.Conv3d)(cin, cout, 1)


class CA(nn.Module):
    def __init__(self, ch, dims=2, red=16):
        super().__init__()
        self.down, self.up = c1(ch, ch // red, dims), c1(ch // red, ch, dims)

    def forward(self, x):
        d = x.mean(tuple(range(2, x.dim())), keepdim=True)
        return x * torch.sigmoid(self.up(F.relu(self.down(d))))


def apodize(x, n=10):
    w = 1 - torch.sin((torch.arange(n, dtype=x.dtype) + 0.5) / n * math.pi / 2)
    for dim in (2, 3):
        L = x.shape[dim]
        shape = [1, 1, 1, 1]
        shape[dim] = n
        f = w.reshape(shape)
        first, last = x.narrow(dim, 0, n), x.narrow(dim, L - n, n)
        fac = (last.flip(dim) - first) * 0.5 * f
        x = torch.cat([first + fac, x.narrow(dim, n, L - 2 * n), last - fac.flip(dim)], dim)
    return x


class FCA(CA):
    def __init__(self, ch):
        super().__init__(ch)
        self.spec = c3(ch, ch)

    def forward(self, x):
        s = torch.fft.ifftshift((torch.fft.fft2(apodize(x)).abs() + 1e-8) ** 0.1, dim=(-2, -1))
        if s.shape[-1] != 128 or s.shape[-2] != 128:
            s = F.interpolate(s, (128, 128), mode='bilinear', align_corners=False)
        d = F.relu(self.spec(s)).mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.up(F.relu(self.down(d))))


class FCAB(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.att = c3(64, 64), c3(64, 64), FCA(64)

    def forward(self, x):
        return self.att(F.gelu(self.b(F.gelu(self.a(x))))) + x


class DFCAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = c3(9, 64)
        self.groups = nn.ModuleList([nn.ModuleList([FCAB() for _ in range(4)]) for _ in range(4)])
        self.ups, self.out = c3(64, 256), c3(64, 1)

    def forward(self, x):
        h = F.gelu(self.head(x))
        for g in self.groups:
            y = h
            for b in g:
                y = b(y)
            h = y + h
        return torch.sigmoid(self.out(F.pixel_shuffle(F.gelu(self.ups(h)), 2)))


class RCAB(nn.Module):
    def __init__(self, dims=2):
        super().__init__()
        self.a, self.b, self.att = c3(64, 64, dims), c3(64, 64, dims), CA(64, dims)

    def forward(self, x):
        return self.att(F.leaky_relu(self.b(F.leaky_relu(self.a(x), 0.2)), 0.2)) + x


class Group(nn.Module):
    def __init__(self, dims=2, skip=True):
        super().__init__()
        self.blocks, self.skip = nn.ModuleList([RCAB(dims) for _ in range(5)]), skip

    def forward(self, x):
        h = x
        for b in self.blocks:
            h = b(h)
        return h + x if self.skip else h


class Branch(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.head, self.groups, self.body = c3(3, 64), nn.Sequential(*[Group() for _ in range(n)]), c3(64, 64)

    def forward(self, x):
        h = self.head(x)
        return F.leaky_relu(self.body(self.groups(F.leaky_relu(h, 0.2)) + h), 0.2)


class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.p, self.r = Branch(2), Branch(5)
        self.merge, self.groups = c3(64, 64), nn.Sequential(*[Group() for _ in range(5)])
        self.tail, self.att, self.out = c3(64, 256), CA(256), c3(256, 3)

    def forward(self, mpe, raw):
        m = F.leaky_relu(self.merge(self.p(mpe) + self.r(raw)), 0.2)
        t = F.leaky_relu(self.tail(self.groups(m) + m), 0.2)
        return F.leaky_relu(self.out(self.att(t)), 0.2)


class NSM(nn.Module):
    def __init__(self, cutoff=4.1, slope=100.0, dxy=0.0926):
        super().__init__()
        self.cutoff, self.slope, self.dxy = nn.Parameter(torch.tensor([cutoff])), nn.Parameter(torch.tensor([slope])), dxy

    def forward(self, x):
        ny, nx = x.shape[-2:]
        ky = torch.fft.fftfreq(ny, self.dxy)
        kx = torch.fft.rfftfreq(nx, self.dxy)
        r = torch.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2).to(x.device)
        mask = torch.sigmoid((self.cutoff - r) * self.slope)
        return torch.fft.irfft2(torch.fft.rfft2(x) * mask, s=(ny, nx))


class RCAN3DNSM(nn.Module):
    def __init__(self, ch=4):
        super().__init__()
        self.head, self.nsm, self.nconv = c3(ch, 64, 3), NSM(), c3(ch, 64, 3)
        self.groups = nn.Sequential(*[Group(3, False) for _ in range(3)])
        self.tail, self.out = c3(64, 256, 3), c3(256, ch, 3)

    def forward(self, x):
        h = self.head(x) + self.nconv(self.nsm(x))
        return F.leaky_relu(self.out(F.leaky_relu(self.tail(self.groups(h)), 0.2)), 0.2)


def ssim(x, y):
    g = torch.exp(-0.5 * ((torch.arange(11.) - 5) / 1.5) ** 2)
    g = g / g.sum()
    w = (g[:, None] * g[None, :])[None, None].to(x.device)
    h, wd = x.shape[-2:]
    a, b = x.reshape(-1, 1, h, wd), y.reshape(-1, 1, h, wd)
    f = lambda t: F.conv2d(t, w)
    mx, my = f(a), f(b)
    c1, c2 = 1e-4, 9e-4
    lum = (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1)
    cs = (2 * (f(a * b) - mx * my) + c2) / (f(a * a + b * b) - mx ** 2 - my ** 2 + c2)
    return (lum * cs).mean()


def mse_ssim(pred, gt):
    n = lambda t: (t - t.min()) / (t.max() - t.min())
    p, t = n(pred), n(gt)
    return ((p - t) ** 2).mean() + 0.1 * (1 - ssim(t, p))


def sync():
    if dev.type == 'cuda':
        torch.cuda.synchronize()


def train(model, inputs, target, loss):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)

    def step():
        opt.zero_grad(set_to_none=True)
        l = loss(model(*inputs), target)
        l.backward()
        opt.step()
    return step


def infer(model, inputs):
    def step():
        with torch.no_grad():
            model(*inputs).sum().item()
    return step


g = torch.Generator().manual_seed(1)
r = lambda *s: torch.rand(*s, generator=g).to(dev)
mse = lambda p, t: ((p - t) ** 2).mean()
cases = {
    'dfcan.train_step_b4_128': lambda: train(DFCAN().to(dev), [r(4, 9, 128, 128)], r(4, 1, 256, 256), mse_ssim),
    'dfcan.infer_256': lambda: infer(DFCAN().to(dev), [r(1, 9, 256, 256)]),
    'denoiser.train_step_b3_128': lambda: train(Denoiser().to(dev), [r(3, 3, 128, 128), r(3, 3, 128, 128)], r(3, 3, 128, 128), mse_ssim),
    'denoiser.infer_256': lambda: infer(Denoiser().to(dev), [r(1, 3, 256, 256), r(1, 3, 256, 256)]),
    'rcan3d.train_step_b3_64x64x16': lambda: train(RCAN3DNSM().to(dev), [r(3, 4, 16, 64, 64)], r(3, 4, 16, 64, 64), mse),
}
fn = cases[a.case]()
fn()  # warm-up, as the TypeScript side
sync()
samples = []
for _ in range(a.iters):
    t0 = time.perf_counter()
    fn()
    sync()
    samples.append((time.perf_counter() - t0) * 1000)
print(json.dumps([{'name': f'torch.{a.case}', 'unit': 'ms', 'median': statistics.median(samples),
                   'min': min(samples), 'max': max(samples), 'n': len(samples)}]))
