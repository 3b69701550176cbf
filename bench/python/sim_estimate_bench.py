#!/usr/bin/env python3
"""Times the reference rDL-SIM illumination fit (cal_modamp, NumPy) on one 256x256x9 cycle, for
the side-by-side figure of bench/suites/sim.ts.  The reference code is imported from
RDL_REFERENCE_DIR (an extracted qc17-THU/rDL-SIM checkout, or its src/ folder); without it this
prints [] and exits 0.  Single-threaded (NumPy's FFT is single-threaded anyway).

usage: sim_estimate_bench.py RAW.mrc OTF.mrc
"""
import json
import os
import statistics
import sys
import time
import types


def reference_src():
    root = os.environ.get("RDL_REFERENCE_DIR")
    if not root:
        return None
    for cand in (os.path.join(root, "src"), root):
        if os.path.isdir(os.path.join(cand, "sim_fitting")):
            return cand
    return None


def stub(name):
    import importlib.util
    if importlib.util.find_spec(name) is None:
        mod = types.ModuleType(name)
        sys.modules[name] = mod
        return mod
    return None


def main():
    src = reference_src()
    if src is None or len(sys.argv) < 3 or not os.path.exists(sys.argv[1]):
        print("[]")
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    stub("tensorflow")
    mpl = stub("matplotlib")
    if mpl is not None:
        plt = types.ModuleType("matplotlib.pyplot")
        mpl.pyplot = plt
        sys.modules["matplotlib.pyplot"] = plt
    sys.path.insert(0, src)
    import numpy as np
    from sim_fitting import CalModamp_2DSIM, Parameters_2DSIM, read_otf
    from utils import read_mrc

    raw_path, otf_path = sys.argv[1], sys.argv[2]
    _h, frames = read_mrc.read_mrc(raw_path, filetype="image")  # [x, y, 9]
    n = frames.shape[0]
    p = Parameters_2DSIM.parameters(n, n, 0.488, 1.35, setup=0)
    otf2d, prol_otf, _psf = read_otf.read_otf(otf_path, n, n, p.dkx, p.dky, p.dkr)

    def fit():
        return CalModamp_2DSIM.cal_modamp(np.array(frames[:, :, :9]), prol_otf, p)

    k0, modamp = fit()
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        fit()
        samples.append((time.perf_counter() - t0) * 1000)

    # The MPE block of the reference's scripts (inline there, so restated here): 9 patterns,
    # FFT(pattern * SR) * OTF, |IFFT|.
    xx = p.dx * np.arange(-n / 2, n / 2)
    X, Y = np.meshgrid(xx, xx)
    sr = np.random.default_rng(1).random((n, n))
    def mpe():
        out = []
        for d in range(3):
            mag = np.hypot(*k0[d])
            alpha = np.arctan2(k0[d][1], k0[d][0])
            for i in range(3):
                kx, ky = mag * np.pi * np.cos(alpha), mag * np.pi * np.sin(alpha)
                beam = np.exp(1j * (kx * X + ky * Y - np.angle(modamp[d]) + i * 2 * np.pi / 3)) + np.exp(-1j * (kx * X + ky * Y))
                pat = np.square(np.abs(beam))
                pat = (pat - pat.min()) / (pat.max() - pat.min() + 1e-7)
                f = np.fft.fftshift(np.fft.fft2(pat * sr)) * otf2d
                out.append(np.abs(np.fft.ifft2(np.fft.ifftshift(f))))
        g = np.array(out)
        return (g - g.min()) / (g.max() - g.min() + 1e-7)
    mpe()
    mpe_samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        mpe()
        mpe_samples.append((time.perf_counter() - t0) * 1000)

    def res(name, s):
        return {"name": name, "unit": "ms", "median": statistics.median(s), "min": min(s), "max": max(s), "n": len(s)}

    print(json.dumps([res("reference.sim.estimate_256", samples), res("reference.sim.mpe_256", mpe_samples)]))


if __name__ == "__main__":
    main()
