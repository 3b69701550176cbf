#!/usr/bin/env python3
"""NumPy re-statement of rdl's Wiener SIM reconstruction as it runs now (src/sim/reconstruct/wiener.ts:
one orientation at a time, band- from band+ by symmetry, weights on boxes around each band), in
single precision, timed on one NxNx9 cycle for the side-by-side figures of bench/suites/recon.ts
(sim.wiener_{512,1024,2048}): background subtraction, edge taper, equalization, known-phase band
separation (two transforms per orientation), zero padding to 2x, sub-pixel shift by a real-space ramp,
OTF and notch weights at shifted radii, modulation fit, Wiener sum, apodization, half-pixel shift.
NumPy's FFT (pocketfft) is single-threaded, so this is a one-core figure.

usage: sim_wiener_scale_bench.py N [N ...]   prints a JSON array of {name, unit, median, min, max, n}
"""
import json
import statistics
import sys
import time

import numpy as np

DX = 0.0626  # raw pixel, um
KC = 2 * 1.49 / 0.525  # synthetic OTF cutoff, cycles/um


def ideal_otf(rho, kc=KC):
    s = np.clip(rho / kc, 0, 1)
    return (2 / np.pi) * (np.arccos(s) - s * np.sqrt(1 - s * s))


def apodize(img, n=10):
    img = img.copy()
    f = (1 - np.sin((np.arange(n) + 0.5) / n * np.pi / 2)).astype(img.dtype)
    for axis in (-2, -1):
        a = np.moveaxis(img, axis, 0)
        d = (a[::-1][:n] - a[:n]) / 2 * f.reshape((n,) + (1,) * (a.ndim - 1))
        a[:n] += d
        a[::-1][:n] -= d
    return img


def centred_box(src, hb):
    """Labels -hb..hb of an FFT-order array (zero outside its labels)."""
    n = src.shape[0]
    out = np.zeros((2 * hb + 1, 2 * hb + 1), src.dtype)
    lab = np.arange(-hb, hb + 1)
    ok = (lab >= -(n // 2)) & (lab <= (n + 1) // 2 - 1)
    idx = np.mod(lab[ok], n)
    out[np.ix_(np.nonzero(ok)[0], np.nonzero(ok)[0])] = src[np.ix_(idx, idx)]
    return out


def add_centred(target, box, offset):
    n2 = target.shape[0]
    hb = (box.shape[0] - 1) // 2
    sel = []
    for a in (0, 1):
        lab = np.arange(-hb, hb + 1) + offset[a]
        ok = (lab >= -(n2 // 2)) & (lab <= n2 // 2 - 1)
        sel.append((np.nonzero(ok)[0], np.mod(lab[ok], n2)))
    target[np.ix_(sel[0][1], sel[1][1])] += box[np.ix_(sel[0][0], sel[1][0])]


def reconstruct(frames, ks, phases, w=0.05):
    D, P, H, W = frames.shape
    N = H
    fr = np.clip(frames.astype(np.float32) - 100, 0, None)
    fr = apodize(fr)
    means = fr.astype(np.float64).mean(axis=(1, 2, 3))
    fr *= (means[0] / means).astype(np.float32)[:, None, None, None]
    dk = 1 / (N * DX)
    hb = min(N - 1, int(np.ceil(KC / dk)) + 1)
    lab = np.arange(-hb, hb + 1)
    sigma = 1.2 / 2.3548
    num = np.zeros((2 * N, 2 * N), np.complex64)
    den = np.zeros((2 * N, 2 * N), np.float32)
    b0sum = np.zeros((2 * hb + 1, 2 * hb + 1), np.complex64)

    def weights(cy, cx):
        qy = ((lab - cy) * dk)[:, None]
        qx = ((lab - cx) * dk)[None, :]
        r2 = qy * qy + qx * qx
        o = ideal_otf(np.sqrt(r2)) * (r2 < KC * KC)
        a = 1 - 0.99 * np.exp(-r2 / (2 * sigma * sigma))
        return (o * a).astype(np.float32), (o * o * a).astype(np.float32)

    for d in range(D):
        kx, ky = ks[d]
        shift = 2 * np.pi * (kx * W / 2 + ky * H / 2) * DX
        phi = phases[d] - shift + 2 * np.pi * np.arange(P) / P
        c0 = fr[d].mean(0)
        cp = np.tensordot((2 / P) * np.exp(-1j * phi).astype(np.complex64), fr[d], 1)
        b0 = np.fft.fft2(c0.astype(np.complex64))
        bp = np.fft.fft2(cp)
        b0box = centred_box(b0, hb)
        b0sum += b0box
        # band+ moved by -k on the 2x grid: whole steps as an offset, the fraction by a ramp.
        sy, sx = -ky / dk, -kx / dk
        off = (int(round(sy)), int(round(sx)))
        fy, fx = sy - off[0], sx - off[1]
        pad = np.zeros((2 * N, 2 * N), np.complex64)
        h = N // 2
        pad[:h, :h], pad[:h, -h:], pad[-h:, :h], pad[-h:, -h:] = bp[:h, :h], bp[:h, -h:], bp[-h:, :h], bp[-h:, -h:]
        img = np.fft.ifft2(pad)
        i = np.arange(2 * N)
        img *= np.exp(2j * np.pi * fy * i / (2 * N)).astype(np.complex64)[:, None]
        img *= np.exp(2j * np.pi * fx * i / (2 * N)).astype(np.complex64)[None, :]
        side = centred_box(np.fft.fft2(img), hb)
        del pad, img
        # Modulation depth from band 0 and band+ where both OTFs are >= 0.1.
        lo = [max(-hb, o - hb) for o in off]
        hi = [min(hb, o + hb) for o in off]
        qy = (np.arange(lo[0], hi[0] + 1) * dk)[:, None]
        qx = (np.arange(lo[1], hi[1] + 1) * dk)[None, :]
        r = np.sqrt(qy * qy + qx * qx)
        o0 = ideal_otf(r)
        ob = ideal_otf(np.sqrt((qy + ky) ** 2 + (qx + kx) ** 2))
        mask = (o0 >= 0.1) & (ob >= 0.1) & (r > 0.15 * KC)
        x = b0box[lo[0] + hb:hi[0] + hb + 1, lo[1] + hb:hi[1] + hb + 1]
        y = side[lo[0] - off[0] + hb:hi[0] - off[0] + hb + 1, lo[1] - off[1] + hb:hi[1] - off[1] + hb + 1]
        cross = np.sum((np.conj(x) * y).real * o0 * ob * mask)
        norm = np.sum(np.abs(x) ** 2 * ob * ob * mask)
        m = min(1.0, max(0.02, cross / norm if norm > 0 else 0))
        wa, wd = weights(fy, fx)
        term = side * wa * np.float32(m)
        power = wd * np.float32(m * m)
        add_centred(num, term, off)
        add_centred(den, power, off)
        add_centred(num, np.conj(term[::-1, ::-1]), (-off[0], -off[1]))
        add_centred(den, power[::-1, ::-1], (-off[0], -off[1]))
    wa, wd = weights(0, 0)
    add_centred(num, b0sum * wa, (0, 0))
    add_centred(den, wd * D, (0, 0))
    q = np.fft.fftfreq(2 * N, DX / 2).astype(np.float32)
    rho = np.sqrt(q[:, None] ** 2 + q[None, :] ** 2)
    kmax = max(np.hypot(*k) for k in ks)
    apo = ideal_otf(rho, KC + kmax).astype(np.float32) ** np.float32(0.9)
    nu = np.fft.fftfreq(2 * N).astype(np.float32)
    hp = np.exp(-1j * np.pi * nu).astype(np.complex64)
    num /= den + np.float32(w * w)
    num *= apo
    num *= hp[:, None]
    num *= hp[None, :]
    return np.clip(np.fft.ifft2(num).real * 4, 0, None)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [256]
    out = []
    for n in sizes:
        rng = np.random.default_rng(1)
        frames = (rng.poisson(200, size=(3, 3, n, n)) + 100).astype(np.uint16)
        ks = [(5.1 * np.cos(a), 5.1 * np.sin(a)) for a in (1.48, 2.5272, 3.5744)]
        phases = [0.3, 1.2, -0.7]
        reconstruct(frames, ks, phases)
        samples = []
        runs = 5 if n <= 512 else 2
        for _ in range(runs):
            t0 = time.perf_counter()
            reconstruct(frames, ks, phases)
            samples.append((time.perf_counter() - t0) * 1000)
        s = sorted(samples)
        out.append({"name": f"numpy.sim.wiener_{n}", "unit": "ms", "median": statistics.median(s),
                    "min": s[0], "max": s[-1], "n": len(s)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
