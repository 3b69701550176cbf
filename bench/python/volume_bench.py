#!/usr/bin/env python3
"""PyTorch side of bench/suites/train-volume.ts: one TiS-/SiS-rDL training iteration at the
reference size (RCAN3D: 64 features, 3 groups x 5 RCABs, tail 256; batch 3 of 64x64x16 patches),
written plainly and timed as the TypeScript side (warm-up, then wall time per iteration from the
patch cut to the Adam step and the loss read back). Prints a JSON array: torch.<name> in ms.

  tis  8 consecutive time points x 16 slices cut from a preloaded uint16 time-lapse (background 100
       subtracted, clipped, divided by a fixed scale); even time points in (4 channels), odd ones as
       the target; MSE.
  sis  32 consecutive slices; even ones in, odd ones as the target; mse_gar with the GAR term from
       the same network on all 32 slices under no_grad.

usage: volume_bench.py --case tis|sis --threads N [--device cpu] [--warmup 1] [--iters 2]"""
import argparse, json, statistics, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--case', required=True, choices=['tis', 'sis'])
p.add_argument('--threads', type=int, required=True)
p.add_argument('--device', default='cpu')
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--iters', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)


def c3(i, o):
    return nn.Conv3d(i, o, 3, padding=1)


class RCAB(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = c3(64, 64), c3(64, 64)
        self.down, self.up = nn.Conv3d(64, 4, 1), nn.Conv3d(4, 64, 1)

    def forward(self, x):
        h = F.leaky_relu(self.b(F.leaky_relu(self.a(x), 0.2)), 0.2)
        w = torch.sigmoid(self.up(F.relu(self.down(h.mean((2, 3, 4), keepdim=True)))))
        return h * w + x


class RCAN3D(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.head = c3(ch, 64)
        self.body = nn.Sequential(*[RCAB() for _ in range(15)])
        self.tail, self.out = c3(64, 256), c3(256, ch)

    def forward(self, x):
        t = F.leaky_relu(self.tail(self.body(self.head(x))), 0.2)
        return F.leaky_relu(self.out(t), 0.2)


C = 4 if a.case == 'tis' else 1
model = RCAN3D(C).to(dev)
opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)
rng = np.random.default_rng(0)
T, Z, Y, X = (10, 16, 96, 96) if a.case == 'tis' else (1, 40, 96, 96)
data = rng.poisson(20, size=(T, Z, Y, X)).astype(np.uint16) + 100


def batch():
    ins, tgs, fulls = [], [], []
    for _ in range(3):
        y, x = rng.integers(0, Y - 64), rng.integers(0, X - 64)
        if a.case == 'tis':
            t = rng.integers(0, T - 8 + 1)
            v = data[t:t + 8, :, y:y + 64, x:x + 64]
            v = np.maximum(v.astype(np.float32) - 100, 0) / 40
            ins.append(v[0::2]), tgs.append(v[1::2])
        else:
            z = rng.integers(0, Z - 32 + 1)
            v = data[0, z:z + 32, y:y + 64, x:x + 64]
            v = np.maximum(v.astype(np.float32) - 100, 0) / 40
            fulls.append(v[None]), ins.append(v[None, 0::2]), tgs.append(v[None, 1::2])
    f = lambda l: torch.from_numpy(np.stack(l)).to(dev)
    return f(ins), f(tgs), (f(fulls) if fulls else None)


def step():
    x, y, full = batch()
    opt.zero_grad(set_to_none=True)
    pred = model(x)
    if full is None:
        loss = ((pred - y) ** 2).mean()
    else:
        with torch.no_grad():
            o = model(full)
            gar = o[:, :, 1::2] - o[:, :, 0::2]
        r = y - pred
        loss = (r ** 2).mean() + ((r - gar) ** 2).mean()
    loss.backward()
    opt.step()
    loss.item()


for _ in range(a.warmup):
    step()
times = []
for _ in range(a.iters):
    t0 = time.perf_counter()
    step()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    times.append((time.perf_counter() - t0) * 1000)
name = f'torch.train.{a.case}_iter'
s = sorted(times)
print(json.dumps([{'name': name, 'unit': 'ms', 'median': statistics.median(s), 'min': s[0], 'max': s[-1], 'n': len(s)}]))
