#!/usr/bin/env python3
"""A NumPy re-statement of rdl's Wiener SIM reconstruction steps (src/sim/reconstruct/wiener*.ts), timed on
one 256x256x9 cycle for the side-by-side figure of bench/suites/recon.ts: background
subtraction, edge taper, equalization, known-phase band separation, zero padding to 2x, sub-pixel
shifts by real-space ramps, OTF lookups at shifted radii, notch, Wiener sum, apodization.
NumPy's FFT (pocketfft) is single-threaded, so this is a one-core figure.

usage: sim_wiener_bench.py [N]
"""
import json
import statistics
import sys
import time

import numpy as np


def ideal_otf(rho, kc):
    s = np.clip(rho / kc, 0, 1)
    return (2 / np.pi) * (np.arccos(s) - s * np.sqrt(1 - s * s))


def apodize(img, n=10):
    img = img.copy()
    f = 1 - np.sin((np.arange(n) + 0.5) / n * np.pi / 2)
    for axis in (0, 1):
        a = np.moveaxis(img, axis, 0)
        d = (a[::-1][:n] - a[:n]) / 2 * f.reshape((n,) + (1,) * (a.ndim - 1))
        a[:n] += d
        a[::-1][:n] -= d
    return img


def reconstruct(frames, ks, phases, dx, kc, w=0.05):
    D, P, H, W = frames.shape
    fr = np.clip(frames - 100.0, 0, None)
    fr = np.stack([np.stack([apodize(fr[d, p]) for p in range(P)]) for d in range(D)])
    means = fr.mean(axis=(1, 2, 3))
    fr *= (means[0] / means)[:, None, None, None]
    qy = np.fft.fftfreq(2 * H, dx / 2)
    qx = np.fft.fftfreq(2 * W, dx / 2)
    QY, QX = np.meshgrid(qy, qx, indexing="ij")
    y = np.arange(2 * H) * dx / 2
    x = np.arange(2 * W) * dx / 2
    Y, X = np.meshgrid(y, x, indexing="ij")
    sigma = 1.2 / 2.3548

    def otf(c):
        return ideal_otf(np.hypot(QX - c[0], QY - c[1]), kc)

    def notch(c):
        return 1 - 0.99 * np.exp(-((QX - c[0]) ** 2 + (QY - c[1]) ** 2) / (2 * sigma**2))

    o0 = otf((0, 0))
    a0 = notch((0, 0))
    num = 0
    den = 0
    for d in range(D):
        kx, ky = ks[d]
        spectra = np.fft.fft2(fr[d])
        shift = 2 * np.pi * (kx * W / 2 + ky * H / 2) * dx
        phi = phases[d] - shift + 2 * np.pi * np.arange(P) / P
        b0 = spectra.sum(0) / P
        bp = (2 / P) * (np.exp(-1j * phi)[:, None, None] * spectra).sum(0)
        bm = (2 / P) * (np.exp(1j * phi)[:, None, None] * spectra).sum(0)
        out = []
        for band, (sx, sy) in ((b0, (0, 0)), (bp, (-kx, -ky)), (bm, (kx, ky))):
            big = np.zeros((2 * H, 2 * W), complex)
            c = np.fft.fftshift(band)
            big[H // 2 : H // 2 + H, W // 2 : W // 2 + W] = c
            img = np.fft.ifft2(np.fft.ifftshift(big))
            if sx or sy:
                img = img * np.exp(2j * np.pi * (sx * X + sy * Y))
            out.append(np.fft.fft2(img))
        op, om = otf((-kx, -ky)), otf((kx, ky))
        ap, am = notch((-kx, -ky)), notch((kx, ky))
        m = 0.8
        num = num + out[0] * o0 * a0 + out[1] * m * op * ap + out[2] * m * om * am
        den = den + o0**2 * a0 + m * m * op**2 * ap + m * m * om**2 * am
    apo = ideal_otf(np.hypot(QX, QY), kc + max(np.hypot(*k) for k in ks)) ** 0.9
    return np.clip(np.real(np.fft.ifft2(num / (den + w * w) * apo)) * 4, 0, None)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    rng = np.random.default_rng(1)
    frames = rng.poisson(200, size=(3, 3, n, n)).astype(np.float64) + 100
    ks = [(5.1 * np.cos(a), 5.1 * np.sin(a)) for a in (1.48, 2.5272, 3.5744)]
    phases = [0.3, 1.2, -0.7]
    reconstruct(frames, ks, phases, 0.0626, 5.68)
    samples = []
    t_end = time.perf_counter() + 3
    while len(samples) < 5 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        reconstruct(frames, ks, phases, 0.0626, 5.68)
        samples.append((time.perf_counter() - t0) * 1000)
        if len(samples) >= 30:
            break
    s = sorted(samples)
    print(json.dumps([{"name": f"numpy.sim.wiener_{n}", "unit": "ms", "median": statistics.median(s),
                       "min": s[0], "max": s[-1], "n": len(s)}]))


if __name__ == "__main__":
    main()
