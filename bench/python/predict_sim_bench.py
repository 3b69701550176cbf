#!/usr/bin/env python3
"""PyTorch (+ NumPy) side of bench/suites/pipeline.ts: one cycle of `rdl predict sim` written
plainly, the way the reference's predict_rDL_Denoising.py does it, on the same simulated 256x256
time-lapse (MRC) and with the same resolved SIM parameters as our side. Per cycle (num_average 1):

  fit        the reference's cal_modamp way, in NumPy (float64, as the reference): the 9 frames
             apodized (the reference's edge taper), band separation per orientation (FFT of each
             frame, band0 = sum, B1 = sum e^{ij2pi/3} F_j), then the hill climb of fitk0andmodamps
             from the preset's start vector (angle walk in steps of angleStepRad at the start
             magnitude, magnitude walk in steps of magnitudeStepDk * dk at the fitted angle, a
             parabola through the last three points of each, one final evaluation). Each
             evaluation is makeoverlaps + getmodamp: the two OTF weights on the whole grid, two
             inverse FFTs, the phase ramp and the two sums. Phase = -arg(modamp).
  SR         the cycle's 9 frames min-max normalized together, DFCAN forward (torch, no_grad).
  MPE        SR min-max normalized, 2x2 mean to the raw grid, 9 patterns 2+2cos(2pi k.r + phi +
             2pi j/3) (each min-max normalized, origin at the image centre) times SR, FFT, x OTF,
             |IFFT| (NumPy), joint min-max over the 9.
  equalize   each orientation of the normalized frames scaled to orientation 0's mean.
  denoiser   forward (torch, no_grad) on the batch of the 3 orientations (3 phases as channels),
             then equalization and normalization undone.

Where the two sides differ (same work otherwise, same network sizes, same image size):
  - our fit runs in float32 and evaluates each candidate in the frequency domain on the OTF
    lens's boxes (overlap-spectral.ts) instead of two full inverse FFTs, with its fallback rules;
    the walk is the same, so the number of evaluations is the same order (both are reported);
  - NumPy's FFTs are single-threaded; our FFTs and products use the engine's threads;
  - our side also restores each output frame's lowest frequencies from the input
    (--keep-low-frequencies 0.1: one FFT and one IFFT of the 9 frames) and computes the frame mean
    ratios; the reference does neither;
  - reading the file: ours reads each cycle from the file (not timed in the main figure); here the
    whole file is read once beforehand.

Prints a JSON array: torch.pipeline.predict_sim_cycle_256 (ms per cycle after the warm-up) and the
medians of its steps, and the fit evaluations per cycle.

usage: predict_sim_bench.py RAW.mrc PARAMS.json --threads N [--device cpu] [--warmup 1] [--cycles 4]
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('raw')
p.add_argument('params')
p.add_argument('--threads', type=int, required=True)
p.add_argument('--device', default='cpu')
p.add_argument('--warmup', type=int, default=1)
p.add_argument('--cycles', type=int, default=4)
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)

# --- The networks of models_bench.py (reference sizes) --------------------------------------------
# That script runs its benchmark at import, so its definitions are taken from its source (between
# its argument parsing and its benchmark code) and executed here, as train_bench.py does.
_src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'models_bench.py')).read()
_defs = _src[_src.index('\ndef c3('):_src.index('\ng = torch.Generator(')]
_ns = {'torch': torch, 'nn': torch.nn, 'F': F, 'math': math, 'dev': dev}
exec(compile(_defs, 'models_bench.py', 'exec'), _ns)
DFCAN, Denoiser = _ns['DFCAN'], _ns['Denoiser']


def sync():
    if dev.type == 'cuda':
        torch.cuda.synchronize()


# --- Data and parameters --------------------------------------------------------------------------
def read_mrc(path):
    """[frames, ny, nx] of a plain MRC file (modes 0, 1, 2, 6)."""
    with open(path, 'rb') as f:
        head = np.frombuffer(f.read(1024), dtype='<i4')
        nx, ny, nz, mode = (int(v) for v in head[:4])
        ext = int(head[23])
        dtype = {0: np.int8, 1: '<i2', 2: '<f4', 6: '<u2'}[mode]
        f.seek(1024 + ext)
        return np.frombuffer(f.read(nx * ny * nz * np.dtype(dtype).itemsize), dtype=dtype).reshape(nz, ny, nx)


sp = json.load(open(a.params))
D, P = sp['orientations'], sp['phases']
stack = read_mrc(a.raw)
N = stack.shape[1]
assert stack.shape[2] == N, 'square frames expected'
# File frame index of orientation d, phase j.
order = [d * P + j if sp['frameOrder'] == 'orientation-major' else j * D + d for d in range(D) for j in range(P)]

dx = sp['pixelSizeUm']
dk = 1 / (N * dx)
cutoff = 2 * sp['detectionNA'] / (sp['emissionWavelengthNm'] / 1000)  # cycles/um
R = min(sp['overlapCutoffNA'] * 2 / (sp['excitationWavelengthNm'] / 1000), N / 2 * dk)
thr = sp['otfThreshold']
spacing = sp['lineSpacingUm'] or sp['excitationWavelengthNm'] / 1000 / sp['excitationNA'] / 2
k_preset = 1 / spacing
fy = np.fft.fftfreq(N, dx)[:, None]
fx = np.fft.fftfreq(N, dx)[None, :]
coords = (np.arange(N) - N / 2) * dx
yy, xx = np.meshgrid(coords, coords, indexing='ij')


def otf_at(rho):
    """The synthetic radial OTF (incoherent circular pupil), 0 beyond 2NA/lambda."""
    s = np.clip(rho / cutoff, 0, 1)
    return (2 / np.pi) * (np.arccos(s) - s * np.sqrt(1 - s * s))


OTF = otf_at(np.hypot(fy, fx))  # FFT order
OTF0 = np.where((np.hypot(fy, fx) <= R) & (OTF > thr), OTF, 0)


# --- The illumination fit (NumPy), after the reference's cal_modamp -------------------------------
def apodize(img, n):
    """The reference's edge taper: opposite edges pulled towards each other, rows then columns."""
    out = img.copy()
    f = 1 - np.sin((np.arange(n) + 0.5) / n * np.pi / 2)
    for axis in (0, 1):
        v = np.moveaxis(out, axis, 0)
        shift = (v[-n:][::-1] - v[:n]) * 0.5 * f[:, None]
        v[:n] += shift
        v[-n:] -= shift[::-1]
    return out


def weights(kx, ky, sign):
    """OTF(|q - sign k|)/sqrt(OTF(|q|)^2 + OTF(|q - sign k|)^2) where both are above the threshold
    and both radii within R, else 0."""
    r = np.hypot(fx - sign * kx, fy - sign * ky)
    s = np.where(r <= R, otf_at(r), 0)
    keep = (OTF0 != 0) & (np.abs(s) > thr)
    return np.where(keep, s / np.sqrt(OTF0 ** 2 + s ** 2 + 1e-30), 0)


def modamp(b0, b1, kx, ky):
    """makeoverlaps + getmodamp: two weighted inverse FFTs, the phase ramp, the sums."""
    o0 = np.fft.ifft2(b0 * weights(kx, ky, 1))
    o1 = np.fft.ifft2(b1 * weights(kx, ky, -1))
    ramp = np.exp(2j * np.pi * (kx * xx + ky * yy))
    return np.sum(np.conj(o0) * o1 * ramp) / (np.sum(np.abs(o0) ** 2) + np.sum(np.abs(o1) ** 2))


def parabola_peak(x1, y1, x2, y2, x3, y3):
    if x1 == x2 or x2 == x3 or x3 == x1:
        return None
    s1, s2 = (y2 - y1) / (x2 - x1), (y3 - y2) / (x3 - x2)
    curve = (s2 - s1) / (0.5 * (x2 + x3) - 0.5 * (x1 + x2))
    if curve == 0 or not math.isfinite(curve):
        return None
    return 0.5 * (x2 + x3) - s2 / curve


def walk(f, x0, step):
    """The reference's 1D hill climb (search.ts walk): returns (peak, evaluations)."""
    x2, a2 = x0, f(x0)
    x3 = x = x0 + step
    a3 = f(x3)
    n, d, x1, a1 = 2, step, math.nan, math.nan
    if not a3 > a2:
        x, (a2, a3), (x2, x3), d = x0, (a3, a2), (x3, x2), -step
    while a3 > a2:
        a1, x1, a2, x2 = a2, x2, a3, x3
        x += d
        x3 = x
        a3 = f(x3)
        n += 1
    if math.isnan(x1):
        return x0, n
    peak = parabola_peak(x1, a1, x2, a2, x3, a3)
    return (x2 if peak is None else peak), n


PHASE_W = np.exp(1j * 2 * np.pi * np.arange(P) / P)


def fit_cycle(frames):
    """frames [D, P, N, N] float64 -> [(k0 (kx, ky) cycles/um, phase rad)] per orientation, evaluations."""
    out, evals = [], 0
    for d in range(D):
        spectra = np.fft.fft2(np.array([apodize(f, sp['apodizationPx']) for f in frames[d]]))
        b0 = spectra.sum(axis=0)
        b1 = np.tensordot(PHASE_W, spectra, axes=1)
        c = sp['startAnglesRad'][d]
        ang0 = math.atan2(k_preset * math.sin(c), k_preset * math.cos(c))

        def at(mag, ang):
            return modamp(b0, b1, mag * math.cos(ang), mag * math.sin(ang))

        ang, n1 = walk(lambda t: abs(at(k_preset, t)), ang0, sp['angleStepRad'])
        mag, n2 = walk(lambda m: abs(at(m, ang)), k_preset, sp['magnitudeStepDk'] * dk)
        m = at(mag, ang)
        evals += n1 + n2 + 1
        out.append(((mag * math.cos(ang), mag * math.sin(ang)), -float(np.angle(m))))
    return out, evals


# --- One cycle ------------------------------------------------------------------------------------
def minmax(x):
    """The reference's prctile_norm: (x - min)/(max - min + 1e-7) over the whole array."""
    return (x - x.min()) / (x.max() - x.min() + 1e-7)


sr_model = DFCAN().to(dev).eval()
dn_model = Denoiser().to(dev).eval()


def cycle(raw):
    """raw: [9, N, N] uint16 in file order. Returns the denoised frames (orientation-major, counts),
    the fit evaluations and the steps' times (ms)."""
    t = [time.perf_counter()]
    om = raw[order].astype(np.float64).reshape(D, P, N, N)
    pats, evals = fit_cycle(om)
    t.append(time.perf_counter())
    lo, hi = float(raw.min()), float(raw.max())
    rng = hi - lo + 1e-7
    norm = ((raw.astype(np.float32) - lo) / rng).astype(np.float32)
    with torch.no_grad():
        sr = sr_model(torch.from_numpy(norm[None]).to(dev))[0, 0]
        sr = F.avg_pool2d(((sr - sr.min()) / (sr.max() - sr.min() + 1e-7))[None, None], 2)[0, 0]
    sr = sr.cpu().numpy()
    sync()
    t.append(time.perf_counter())
    mpe = np.empty((D, P, N, N))
    for d, (k, phase) in enumerate(pats):
        arg = 2 * np.pi * (k[0] * xx + k[1] * yy) + phase
        for j in range(P):
            pat = minmax(2 + 2 * np.cos(arg + 2 * np.pi * j / P))
            mpe[d, j] = np.abs(np.fft.ifft2(np.fft.fft2(pat * sr) * OTF))
    mpe = minmax(mpe).astype(np.float32)
    t.append(time.perf_counter())
    x = norm[order].reshape(D, P, N, N)
    means = x.mean(axis=(1, 2, 3), dtype=np.float64)
    factors = (means[0] / means).astype(np.float32)
    x = x * factors[:, None, None, None]
    with torch.no_grad():
        y = dn_model(torch.from_numpy(mpe).to(dev), torch.from_numpy(x).to(dev)).cpu().numpy()
    out = y / factors[:, None, None, None] * rng + lo
    t.append(time.perf_counter())
    ms = [(t[i + 1] - t[i]) * 1000 for i in range(len(t) - 1)]
    return out, evals, ms


per = D * P  # frames per cycle
assert stack.shape[0] >= (a.warmup + a.cycles) * per, 'the file has fewer cycles than asked'
total, steps, evaluations = [], [], []
for c in range(a.warmup + a.cycles):
    t0 = time.perf_counter()
    _, ev, ms = cycle(stack[c * per:(c + 1) * per])
    sync()
    if c >= a.warmup:
        total.append((time.perf_counter() - t0) * 1000)
        steps.append(ms)
        evaluations.append(ev)


def res(n, unit, s):
    return {'name': n, 'unit': unit, 'median': statistics.median(s), 'min': min(s), 'max': max(s), 'n': len(s)}


name = 'torch.pipeline.predict_sim_cycle_256'
out = [res(name, 'ms', total)]
for i, step in enumerate(['fit', 'sr', 'mpe', 'denoiser']):
    out.append(res(f'{name}.{step}', 'ms', [s[i] for s in steps]))
out.append(res(f'{name}.fit_evaluations', 'count', evaluations))
print(json.dumps(out))
