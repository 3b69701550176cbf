#!/usr/bin/python3
"""Run the public rDL-SIM reference illumination fit on MT.mrc and emit JSON fixtures.

This driver is project-owned glue.  It IMPORTS the reference's fitting modules from an
extracted checkout of github.com/qc17-THU/rDL-SIM (MIT) and calls them the way the
reference's predict script does (setup 0, 488 nm, excitation NA 1.35, num_average 1,
raw frames, no background subtraction - the reference does none on this path).  The few
lines of downstream bookkeeping the predict script does after the fit (angle conversion,
fallback rule) and the MPE generation are re-expressed here in our own words, because
they live inside scripts that cannot be imported.

Usage (Debian python, which has numpy/scipy):
    /usr/bin/python3 tools/reference/run_reference_fit.py /tmp/rdl-ref \
        --ref-commit <sha> --intermediates-out test/fixtures/sim/mt_reference_intermediates.json \
        > test/fixtures/sim/mt_reference_fit.json

Conventions used in the output ("rdl" convention): images are row-major [y, x] where x is
the MRC fast axis; spatial coordinates are x = (col - N/2) * dx, y = (row - N/2) * dx (the
reference puts the origin at pixel index N/2 = 128); k0 = (kx, ky) in cycles/um; angle =
atan2(ky, kx); illumination of phase j of an orientation is
    I_j(r) = 1 + m cos(2 pi (kx x + ky y) + phase + j 2 pi / 3).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import types

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

DEFAULT_MRC = "/work/shared/data/rDL-SIM/Microtubules/MT.mrc"
DEFAULT_OTF = "/work/shared/data/otf/TIRF488_cam1_0_z30_OTF2d.mrc"
REF_FILES = ("src/sim_fitting/Parameters_2DSIM.py", "src/sim_fitting/read_otf.py",
             "src/sim_fitting/CalModamp_2DSIM.py", "src/utils/read_mrc.py",
             "src/predict_rDL_Denoising.py", "src/train_rDL_Denoising_Module.py")


# ----------------------------------------------------------------------------------------
# importing the reference
# ----------------------------------------------------------------------------------------
def install_stubs():
    """The fitting modules import tensorflow (unused) and utils/read_mrc imports
    matplotlib.pyplot (unused).  Neither is needed; insert empty stand-ins if absent."""
    import importlib.util
    if importlib.util.find_spec("tensorflow") is None:
        sys.modules["tensorflow"] = types.ModuleType("tensorflow")
    if importlib.util.find_spec("matplotlib") is None:
        mpl = types.ModuleType("matplotlib")
        plt = types.ModuleType("matplotlib.pyplot")
        mpl.pyplot = plt
        sys.modules["matplotlib"] = mpl
        sys.modules["matplotlib.pyplot"] = plt


def import_reference(ref_root):
    install_stubs()
    src = os.path.join(os.path.abspath(ref_root), "src")
    if not os.path.isdir(os.path.join(src, "sim_fitting")):
        raise SystemExit("not a rDL-SIM checkout (no src/sim_fitting): %s" % ref_root)
    sys.path.insert(0, src)
    from sim_fitting import Parameters_2DSIM, CalModamp_2DSIM, read_otf
    from utils import read_mrc as ref_read_mrc
    return types.SimpleNamespace(params=Parameters_2DSIM, calmod=CalModamp_2DSIM,
                                 otf=read_otf, mrc=ref_read_mrc)


def git_blob_sha1(path):
    with open(path, "rb") as fh:
        data = fh.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# ----------------------------------------------------------------------------------------
# the reference computation, predict-script style
# ----------------------------------------------------------------------------------------
def setup_reference(ref, otf_path, n=256):
    # predict script: parameters(input_height, input_width, wave_length*1e-3, excNA, setup=0)
    p = ref.params.parameters(n, n, 488 * 1e-3, 1.35, setup=0)
    otf2d, prol_otf, _psf = ref.otf.read_otf(otf_path, p.Nx * p.scale, p.Ny * p.scale,
                                             p.dkx, p.dky, p.dkr)
    return p, otf2d, prol_otf


def load_cycle(ref, mrc_path, num_average=1):
    import numpy as np
    _hdr, frames_xyz = ref.mrc.read_mrc(mrc_path, filetype="image")  # [x, y, 9] float64
    acc = np.zeros(frames_xyz.shape)
    for _ in range(num_average):
        acc = acc + frames_xyz
    return frames_xyz, acc / num_average


def run_fit(ref, p, prol_otf, avg_xyz):
    import numpy as np
    # cal_modamp apodizes its input in place, so hand it a private copy
    k0, modamp = ref.calmod.cal_modamp(np.array(avg_xyz), prol_otf, p)
    return np.array(k0, dtype=float), [complex(m) for m in modamp]


def run_fit_traced(ref, p, prol_otf, avg_xyz):
    """Same fit, recording every getmodamp candidate (angle, magnitude, |modamp|)."""
    orig = ref.calmod.getmodamp
    trace = []

    def wrapped(k0angle, k0length, *rest):
        m = orig(k0angle, k0length, *rest)
        trace.append([float(k0angle), float(k0length), float(abs(m)),
                      float(m.real), float(m.imag)])
        return m

    ref.calmod.getmodamp = wrapped
    try:
        k0, modamp = run_fit(ref, p, prol_otf, avg_xyz)
    finally:
        ref.calmod.getmodamp = orig
    # split per orientation: each orientation's trace ends with the final evaluation
    return k0, modamp, trace


def downstream(p, k0, modamp):
    """What the predict / train scripts do with the fit result (re-expressed)."""
    import numpy as np
    nd = len(k0)
    theta = np.array([math.atan(k0[d, 1] / k0[d, 0]) for d in range(nd)])
    theta[1:] += math.pi          # hard-coded: orientations 1.. assumed to have kx < 0
    alpha = math.pi / 2 - theta   # angle in the transposed frame used for the MPE pattern
    out = []
    given = 1.0 / p.space
    for d in range(nd):
        mag = float(math.hypot(k0[d, 0], k0[d, 1]))
        dang = float(abs(alpha[d] - p.k0angle_g[d]))
        dmag = float(abs(mag - given))
        out.append(dict(theta_arctan_plus_pi=float(theta[d]), alpha=float(alpha[d]),
                        alpha_used=float(alpha[d] if dang <= 0.05 else p.k0angle_g[d]),
                        magnitude_used=float(mag if dmag <= 0.1 else given),
                        angle_diff_vs_preset_g=dang, angle_fallback=bool(dang > 0.05),
                        magnitude_diff_vs_1_over_spacing=dmag, magnitude_fallback=bool(dmag > 0.1),
                        phase_used=float(-np.angle(modamp[d]))))
    return out


# ----------------------------------------------------------------------------------------
# own (independent) helpers, rdl convention [y, x]
# ----------------------------------------------------------------------------------------
def read_mrc_yx(path):
    import numpy as np
    with open(path, "rb") as fh:
        hdr = fh.read(1024)
        nx, ny, nz, mode = np.frombuffer(hdr[:16], "<i4")
        nxt = int(np.frombuffer(hdr[92:96], "<i4")[0])
        fh.seek(1024 + nxt)
        assert mode == 6
        data = np.frombuffer(fh.read(), "<u2", count=nx * ny * nz)
    return data.reshape(nz, ny, nx).astype(np.float64)   # [frame, y, x]


def radial_interp(prol_otf, dkr, r):
    import numpy as np
    grid = np.arange(len(prol_otf)) * dkr
    return np.interp(r, grid, prol_otf)


def centred_freq(n, dk):
    import numpy as np
    f = np.arange(-n // 2, n // 2) * dk
    fx, fy = np.meshgrid(f, f)   # fx varies along columns (x), fy along rows (y)
    return fx, fy


def coords(n, dx):
    import numpy as np
    c = (np.arange(n) - n / 2) * dx
    X, Y = np.meshgrid(c, c)
    return X, Y


def tukey_window(n, width=16):
    import numpy as np
    t = np.ones(n)
    l = np.arange(width)
    t[:width] = 0.5 - 0.5 * np.cos(np.pi * (l + 0.5) / width)
    t[-width:] = t[:width][::-1]
    return np.outer(t, t)


def verify_convention(frames_yx, k_rdl, phases_rdl, prol_otf, dkr, dx):
    """Independent check, in the rdl [y, x] frame, that (k_rdl, phase) describe the
    illumination present in the measured frames.

    For D_j = [S (1 + m cos(2 pi k.r + phi + j 2pi/3))] * PSF, the demodulated image
    sum_j D_j cos(2 pi k.r + psi + j 2pi/3) has spectrum (3m/4)[e^{i(psi-phi)} S~(q) OTF(q-k)
    + e^{-i(psi-phi)} S~(q) OTF(q+k)], so its OTF-weighted correlation with the widefield
    W = sum_j D_j (spectrum 3 S~(q) OTF(q)) goes as cos(psi - phi).  Frames are tapered
    with a separable Tukey window (16 px) first; weight M(q) = OTF(q) (OTF(q-k)+OTF(q+k)),
    negative OTF values clipped to 0, DC excluded.  The best psi must match the fitted
    phase and the normalised correlation amplitude must beat controls (axes swapped,
    k negated, phase step reversed, k shifted by 0.3/um)."""
    import numpy as np
    n = frames_yx.shape[-1]
    X, Y = coords(n, dx)
    fx, fy = centred_freq(n, 1.0 / (n * dx))
    win = tukey_window(n)

    def otf_at(ax, ay):
        return np.clip(radial_interp(prol_otf, dkr, np.hypot(ax, ay)), 0, None)

    def score(D, kx, ky, step=1.0):
        M = np.fft.ifftshift(otf_at(fx, fy) * (otf_at(fx - kx, fy - ky) + otf_at(fx + kx, fy + ky)))
        M[0, 0] = 0.0
        arg = 2 * np.pi * (kx * X + ky * Y)
        A = sum(D[j] * np.cos(arg + step * j * 2 * np.pi / 3) for j in range(3))
        B = sum(D[j] * np.sin(arg + step * j * 2 * np.pi / 3) for j in range(3))
        Wt, At, Bt = (np.fft.fft2(v) for v in (D.sum(0), A, B))
        ca = float(np.sum(np.real(np.conj(Wt) * At) * M))
        cb = float(np.sum(np.real(np.conj(Wt) * Bt) * M))
        nw = math.sqrt(float(np.sum(np.abs(Wt) ** 2 * M)))
        nab = math.sqrt(float(np.sum((np.abs(At) ** 2 + np.abs(Bt) ** 2) * M)) / 2)
        # demod(psi) = cos(psi) A - sin(psi) B  ->  corr(psi) = amp cos(psi - psi_best)
        return math.atan2(-cb, ca), math.hypot(ca, cb) / (nw * nab)

    res = []
    for d in range(3):
        D = frames_yx[3 * d:3 * d + 3]
        D = (D - D.mean()) * win
        kx, ky = k_rdl[d]
        psi, amp = score(D, kx, ky)
        dpsi = (psi - phases_rdl[d] + math.pi) % (2 * math.pi) - math.pi
        ctrl = dict(axes_swapped=score(D, ky, kx)[1], k_negated=score(D, -kx, -ky)[1],
                    phase_step_reversed=score(D, kx, ky, -1.0)[1],
                    k_shifted_0p3_max=max(score(D, kx + a, ky + b)[1] for a, b in
                                          ((0.3, 0), (-0.3, 0), (0, 0.3), (0, -0.3))))
        res.append(dict(orientation=d, best_demod_phase=psi, fitted_phase=phases_rdl[d],
                        best_minus_fitted=dpsi, amplitude=amp, controls_amplitude=ctrl,
                        ratio_to_best_control=amp / max(ctrl.values()),
                        phase_within_0p15=bool(abs(dpsi) < 0.15)))
    return res


def angle_scan(ref, p, avg_xyz, k0, step=0.01):
    """|modamp| from the reference's own getmodamp over all angles at the fitted magnitude,
    on the bands the reference builds (fit frame = rdl frame)."""
    import numpy as np
    C = ref.calmod
    n = p.Nx
    img4 = np.reshape(np.array(avg_xyz), (n, n, 3, 3))
    sep = C.make_matrix(3, 2)
    angs = np.arange(0, 2 * np.pi, step)
    out = []
    for d in range(3):
        pro = np.array(np.transpose(img4[:, :, d, :], (1, 0, 2)))
        spec = np.array([np.fft.fftshift(np.fft.fft2(C.apodize(p.napodize, n, n, 1, np.array(pro[:, :, i]))))
                         for i in range(3)]).reshape(3, n * n)
        bands = np.dot(sep, spec).reshape(3, n, n)
        mag = math.hypot(*k0[d])
        amps = np.array([abs(C.getmodamp(t, mag, bands, None, None, n, n, 1, 0, 1, p.dx, 0,
                                         C_prol[0], p.lamda, True, p)) for t in angs])
        ib = int(np.argmax(amps))
        far = np.abs(((angs - angs[ib] + np.pi) % (2 * np.pi)) - np.pi) > 0.03
        fit_ang = math.atan2(k0[d][1], k0[d][0]) % (2 * np.pi)
        sw = (math.pi / 2 - fit_ang) % (2 * np.pi)
        out.append(dict(orientation=d, magnitude=mag, step=step, best_angle=float(angs[ib]),
                        best_abs_modamp=float(amps[ib]), fitted_angle_mod_2pi=fit_ang,
                        runner_up_beyond_0p03rad=float(np.max(amps[far])),
                        runner_up_angle=float(angs[far][np.argmax(amps[far])]),
                        at_swapped_angle_pi_2_minus_theta=float(amps[int(round(sw / step)) % len(angs)]),
                        median=float(np.median(amps))))
    return out


C_prol = [None]


def minmax_ref(x):
    """The reference's prctile_norm with its defaults (0th/100th percentile, +1e-7)."""
    import numpy as np
    lo = np.percentile(x, 0)
    hi = np.percentile(x, 100)
    return (x - lo) / (hi - lo + 1e-7)


def upsample2_bilinear_half_pixel(img):
    """x2 bilinear, half-pixel centres, edge-clamped (cv2 INTER_LINEAR / TF half_pixel)."""
    import numpy as np

    def axis_weights(n):
        src = (np.arange(2 * n) + 0.5) / 2 - 0.5
        src = np.clip(src, 0, n - 1)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        f = src - i0
        return i0, i1, f
    r0, r1, fr = axis_weights(img.shape[0])
    c0, c1, fc = axis_weights(img.shape[1])
    rows = img[r0] * (1 - fr)[:, None] + img[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


def downsample2_box(img):
    """cv2.resize INTER_LINEAR at exactly 1/2 in both axes == INTER_AREA fast path == 2x2 mean."""
    return 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])


def mpe_reference_frame(sr_ref_frame, alpha, kmag, phase, otf2d, dx):
    """MPE frames as the predict/train scripts build them, in THEIR array frame
    (the network frame: rows = MRC x under the predict script)."""
    import numpy as np
    n = sr_ref_frame.shape[0]
    X, Y = coords(n, dx)
    out = []
    for d in range(3):
        kLx = kmag[d] * math.pi * math.cos(alpha[d])
        kLy = kmag[d] * math.pi * math.sin(alpha[d])
        for j in range(3):
            ph = phase[d] + j * 2 * math.pi / 3
            beam = np.exp(1j * (kLx * X + kLy * Y + ph)) + np.exp(-1j * (kLx * X + kLy * Y))
            pat = minmax_ref(np.abs(beam) ** 2)
            spec = np.fft.fftshift(np.fft.fft2(pat * sr_ref_frame)) * otf2d
            out.append(np.abs(np.fft.ifft2(np.fft.ifftshift(spec))))
    return np.array(out)


def patterns_rdl(n, dx, k_rdl, phases):
    import numpy as np
    X, Y = coords(n, dx)
    pats = []
    for d in range(3):
        for j in range(3):
            arg = 2 * np.pi * (k_rdl[d][0] * X + k_rdl[d][1] * Y) + phases[d] + j * 2 * np.pi / 3
            pats.append(minmax_ref(2 + 2 * np.cos(arg)))
    return np.array(pats)


# ----------------------------------------------------------------------------------------
# timing (child processes with thread caps)
# ----------------------------------------------------------------------------------------
def timing_child(args):
    import numpy as np
    ref = import_reference(args.ref_root)
    p, _otf2d, prol = setup_reference(ref, args.otf)
    _raw, avg = load_cycle(ref, args.mrc)
    times = []
    for i in range(args.timing_runs + 1):
        x = np.array(avg)
        t0 = time.perf_counter()
        ref.calmod.cal_modamp(x, prol, p)
        dt = time.perf_counter() - t0
        if i > 0:               # first run is a warm-up
            times.append(dt)
    t_otf = []
    for _ in range(3):
        t0 = time.perf_counter()
        setup_reference(ref, args.otf)
        t_otf.append(time.perf_counter() - t0)
    print(json.dumps(dict(cal_modamp_s=times, read_otf_s=t_otf,
                          affinity=sorted(os.sched_getaffinity(0)),
                          env={v: os.environ.get(v) for v in THREAD_VARS})))


def run_timing(args, threads):
    env = dict(os.environ)
    for v in THREAD_VARS:
        env[v] = str(threads)
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    cmd = ["taskset", "-c", ",".join(map(str, cpus)), sys.executable, os.path.abspath(__file__),
           args.ref_root, "--mrc", args.mrc, "--otf", args.otf,
           "--timing-runs", str(args.timing_runs), "--timing-child"]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    t = r["cal_modamp_s"]
    return dict(threads=threads, cpus=r["affinity"], runs=len(t),
                median_s=statistics.median(t), min_s=min(t), max_s=max(t),
                all_s=[round(v, 4) for v in t],
                read_otf_median_s=statistics.median(r["read_otf_s"]))


# ----------------------------------------------------------------------------------------
def r6(v, nd=10):
    return float(round(float(v), nd))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref_root", help="extracted qc17-THU/rDL-SIM checkout (contains src/)")
    ap.add_argument("--mrc", default=DEFAULT_MRC)
    ap.add_argument("--otf", default=DEFAULT_OTF)
    ap.add_argument("--ref-commit", default=None, help="commit the checkout was extracted from")
    ap.add_argument("--intermediates-out", default=None)
    ap.add_argument("--timing-runs", type=int, default=9)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--timing-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.timing_child:
        return timing_child(args)

    import numpy as np
    import scipy
    ref = import_reference(args.ref_root)
    p, otf2d, prol = setup_reference(ref, args.otf)
    raw_xyz, avg_xyz = load_cycle(ref, args.mrc)
    n = p.Nx
    dx = p.dx

    # ---- 1. the fit exactly as predict does it (raw, no background subtraction)
    k0, modamp = run_fit(ref, p, prol, avg_xyz)
    # traced re-run (must be identical)
    k0_t, modamp_t, trace = run_fit_traced(ref, p, prol, avg_xyz)
    assert np.array_equal(k0, k0_t) and modamp == modamp_t
    # background-subtracted variant (constbkgd = 100 exists in the parameter class but the
    # 2D-SIM predict/train path never uses it); reported to show it does not matter here
    k0_bg, modamp_bg = run_fit(ref, p, prol, np.clip(avg_xyz - p.constbkgd, 0, None))
    k0_bg_noclip, modamp_bg_noclip = run_fit(ref, p, prol, avg_xyz - p.constbkgd)
    down = downstream(p, k0, modamp)

    # ---- 2. frame check: the fit frame is [y, x] with x = MRC fast axis
    frames_yx = read_mrc_yx(args.mrc)
    assert np.array_equal(np.transpose(raw_xyz, (2, 1, 0)), frames_yx), "read_mrc is [x, y, z]"
    # cal_modamp: reshape [x,y,9]->[x,y,dir,phase], take a direction, transpose (1,0,2) -> [y,x]
    fitframe0 = np.transpose(np.reshape(np.array(avg_xyz), (n, n, 3, 3))[:, :, 0, :], (1, 0, 2))
    assert np.array_equal(fitframe0[:, :, 0], frames_yx[0])

    k_rdl = [[float(k0[d, 0]), float(k0[d, 1])] for d in range(3)]
    phases = [float(-np.angle(m)) for m in modamp]

    # ---- 3. independent verification in rdl convention
    ver = verify_convention(frames_yx - p.constbkgd, k_rdl, phases, prol, p.dkr, dx)
    C_prol[0] = prol
    scan = angle_scan(ref, p, avg_xyz, k0)

    # MPE pattern equivalence: reference-frame pattern (alpha = pi/2 - theta on the
    # transposed array) vs rdl-frame pattern with k_rdl and the same phase
    Xr, Yr = coords(n, dx)
    pat_ref = []
    for d in range(3):
        kLx = down[d]["magnitude_used"] * math.pi * math.cos(down[d]["alpha_used"])
        kLy = down[d]["magnitude_used"] * math.pi * math.sin(down[d]["alpha_used"])
        for j in range(3):
            ph = phases[d] + j * 2 * math.pi / 3
            beam = np.exp(1j * (kLx * Xr + kLy * Yr + ph)) + np.exp(-1j * (kLx * Xr + kLy * Yr))
            pat_ref.append(minmax_ref(np.abs(beam) ** 2))
    pat_ref_yx = np.transpose(np.array(pat_ref), (0, 2, 1))
    pat_rdl = patterns_rdl(n, dx, k_rdl, phases)
    pattern_maxdiff = float(np.max(np.abs(pat_ref_yx - pat_rdl)))
    pat_rdl_untransposed = float(np.max(np.abs(np.array(pat_ref) - pat_rdl)))

    # ---- 4. per-orientation records
    given = 1.0 / p.space
    orients = []
    for d in range(3):
        kx, ky = k0[d]
        mag = math.hypot(kx, ky)
        ang = math.atan2(ky, kx)
        ph = phases[d]
        # phase with origin at pixel (0,0) instead of pixel (N/2, N/2)
        ph0 = ph + 2 * math.pi * (kx * (-n / 2) * dx + ky * (-n / 2) * dx)
        ph0 = (ph0 + math.pi) % (2 * math.pi) - math.pi
        orients.append(dict(
            orientation=d, frames=[3 * d, 3 * d + 1, 3 * d + 2],
            reference=dict(
                k0_returned=[float(kx), float(ky)],
                k0_returned_note="cal_modamp's cur_k0[d] = [k along fit-frame columns, k along fit-frame rows], cycles/um; fit frame = [row=y, col=x], x = MRC fast axis",
                angle_atan2=ang, angle_mod_2pi=ang % (2 * math.pi),
                preset_k0angle_c=p.k0angle_c[d],
                angle_minus_preset=((ang - p.k0angle_c[d] + math.pi) % (2 * math.pi)) - math.pi,
                magnitude=mag, line_spacing_um=1.0 / mag,
                downstream_alpha=down[d]["alpha"],
                downstream_alpha_note="predict/train: theta = arctan(ky/kx) (+pi for orientations 1,2), alpha = pi/2 - theta; alpha is the pattern angle on the transposed array the network sees (rows = MRC x)",
                preset_k0angle_g=p.k0angle_g[d],
                modamp=dict(re=modamp[d].real, im=modamp[d].imag), modamp_abs=abs(modamp[d]),
                arg_modamp=float(np.angle(modamp[d])), phase_downstream=ph),
            rdl=dict(kx=float(kx), ky=float(ky), angle=ang, magnitude=mag,
                     line_spacing_um=1.0 / mag, phase=ph, phase_origin_pixel0=ph0),
            fallback=dict(
                angle_diff=down[d]["angle_diff_vs_preset_g"], angle_triggers=down[d]["angle_fallback"],
                magnitude_diff=down[d]["magnitude_diff_vs_1_over_spacing"],
                magnitude_triggers=down[d]["magnitude_fallback"],
                would_trigger=down[d]["angle_fallback"] or down[d]["magnitude_fallback"],
                given_magnitude=given)))

    # consistency of the two phase origins
    cols = np.arange(n) * dx
    Xc, Yc = np.meshgrid(cols, cols)
    origin_diff = 0.0
    for d in range(3):
        r = orients[d]["rdl"]
        a = np.cos(2 * np.pi * (r["kx"] * Xr + r["ky"] * Yr) + r["phase"])
        b = np.cos(2 * np.pi * (r["kx"] * Xc + r["ky"] * Yc) + r["phase_origin_pixel0"])
        origin_diff = max(origin_diff, float(np.max(np.abs(a - b))))

    # ---- 5. timing
    timing = None
    if not args.no_timing:
        timing = dict(
            what="wall time of one cal_modamp call (the whole 3-orientation fit of one cycle; on MT.mrc that is 3 + 33 overlap builds) after one warm-up, input copy outside the timed region; median over runs; thread-count env vars set and the process pinned with taskset",
            machine=dict(cpu=platform.processor() or _cpu_model(), logical_cpus=os.cpu_count(),
                         python=platform.python_version()),
            single_thread=run_timing(args, 1), two_threads=run_timing(args, 2))

    ref_blobs = {f: git_blob_sha1(os.path.join(args.ref_root, f)) for f in REF_FILES
                 if os.path.exists(os.path.join(args.ref_root, f))}
    commit = args.ref_commit
    if commit is None:
        try:
            commit = subprocess.run(["git", "-C", args.ref_root, "rev-parse", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
        except Exception:
            commit = "unknown"
    cmdline = " ".join([sys.executable] + sys.argv)

    per_orientation_traces = []
    cur = []
    # each orientation's last trace entry is the final (angle, mag) evaluation; split by
    # start angle changes: an orientation starts with the preset angle at the preset magnitude
    starts = [i for i, t in enumerate(trace) if abs(t[1] - p.k0mod) < 1e-12 and
              any(abs(((t[0] - a + math.pi) % (2 * math.pi)) - math.pi) < 1e-12 for a in p.k0angle_c)]
    bounds = starts + [len(trace)]
    for d in range(3):
        per_orientation_traces.append(trace[bounds[d]:bounds[d + 1]])

    fit = dict(
        description="rDL-SIM reference (qc17-THU/rDL-SIM) illumination fit on MT.mrc with the measured 488 nm OTF, run as predict_rDL_Denoising.py does (setup 0, excNA 1.35, num_average 1). Ground truth for the TypeScript port.",
        conventions=dict(
            rdl="images row-major [y, x], x = MRC fast axis (column index), y = row index; k in cycles/um; angle = atan2(ky, kx); illumination I_j = 1 + m cos(2 pi (kx x + ky y) + phase + j 2pi/3) with x = (col - 128) dx, y = (row - 128) dx, dx = 0.0626 um (origin at pixel index N/2, as the reference). phase_origin_pixel0 is the same phase referred to x = col dx, y = row dx.",
            reference_returned="utils/read_mrc gives [x, y, z]; cal_modamp reshapes to [x, y, dir, phase] and transposes each direction to [y, x] before apodizing/FFT, so the fit frame IS the rdl frame: k0_returned[0] is the frequency along columns (MRC x), [1] along rows (MRC y). Conversion reference->rdl is the identity for data read through read_mrc (predict path). (The train script feeds TIFF arrays [y,x,9] to the same function, where the internal transpose makes the fit frame [x, y] instead.)",
            reference_downstream="predict/train rebuild the angle as theta = arctan(ky/kx) + (0 for orientation 0, pi for 1 and 2), then alpha = pi/2 - theta, and build the MPE pattern on a meshgrid (X along columns) over the array the network sees, which under the predict script is the transposed image (rows = MRC x). Swapping axes maps angle theta to pi/2 - theta, so the pattern is physically the same as the rdl pattern with k_rdl and the same phase (checked: max difference below).",
            phase="phase = -arg(modamp), unchanged between conventions (origin pixel (128,128))."),
        inputs=dict(mrc=args.mrc, mrc_sha256=sha256(args.mrc), otf=args.otf, otf_sha256=sha256(args.otf),
                    setup=0, wavelength_um=p.lamda, excitation_NA=p.NA, dx_um=p.dx, N=n,
                    num_average=1, background_subtracted=False,
                    preset_k0angle_c=p.k0angle_c, preset_k0angle_g=p.k0angle_g,
                    preset_magnitude=p.k0mod, expected_spacing_um=p.space),
        orientations=orients,
        background_variants=dict(
            note="the reference's 2D-SIM path subtracts no background; a constant only reaches the DC pixel, which the 0.005 OTF threshold masks out",
            minus100_clip0_max_abs_dk=float(np.max(np.abs(k0_bg - k0))),
            minus100_clip0_max_abs_dmodamp=float(max(abs(a - b) for a, b in zip(modamp_bg, modamp))),
            minus100_noclip_max_abs_dk=float(np.max(np.abs(k0_bg_noclip - k0))),
            minus100_noclip_max_abs_dmodamp=float(max(abs(a - b) for a, b in zip(modamp_bg_noclip, modamp)))),
        verification=dict(
            method="(a) demodulation check, independent numpy code in the rdl [y,x] frame (frames read with our own MRC reader): Tukey-taper the 3 measured phases of an orientation (minus 100), demodulate with cos(2 pi k_rdl.r + psi + j 2pi/3), correlate with the widefield sum in Fourier space weighted by OTF(q)(OTF(q-k)+OTF(q+k)); the best psi should equal the fitted phase (the data are noisy: |modamp| is only 0.02-0.06, so agreement to ~0.1 rad is what the SNR allows) and the amplitude should exceed every control (axes swapped, k negated, phase step reversed, k shifted 0.3/um); ratio_to_best_control reports by how much. (b) the reference's own |modamp| scanned over all angles (step 0.01 rad) at the fitted magnitude: the global maximum sits at the fitted angle, the axis-swapped angle (pi/2 - theta) is at noise level. (c) the MPE pattern built the reference's way (alpha = pi/2 - theta on the transposed array) equals, after transposing back, the rdl pattern with k_rdl and the same phase.",
            read_mrc_is_x_y_z=True, fit_frame_equals_rdl_yx=True,
            demodulation=ver,
            angle_scan_reference_modamp=scan,
            mpe_pattern_reference_frame_transposed_vs_rdl_max_abs_diff=pattern_maxdiff,
            phase_origin_centre_vs_pixel0_pattern_max_abs_diff=origin_diff,
            mpe_pattern_reference_frame_not_transposed_vs_rdl_max_abs_diff=pat_rdl_untransposed),
        search_traces=dict(
            columns=["angle_rad", "magnitude_per_um", "abs_modamp", "re", "im"],
            note="every getmodamp call of fitk0andmodamps in order (angle walk from the preset at the preset magnitude, then the magnitude walk at the parabola angle, then the final evaluation); angles in the reference's fit frame (= rdl).",
            per_orientation=per_orientation_traces),
        provenance=dict(
            reference_repo="https://github.com/qc17-THU/rDL-SIM", reference_commit=commit,
            reference_file_git_blob_sha1=ref_blobs,
            command_line=cmdline, python=platform.python_version(),
            numpy=np.__version__, scipy=scipy.__version__,
            stubs="tensorflow and matplotlib replaced by empty modules at import (unused by the fitting code)",
            timing=timing))

    if args.intermediates_out:
        inter = intermediates(ref, p, otf2d, prol, avg_xyz, frames_yx, k0, modamp, down, phases, args.otf)
        inter["provenance"] = dict(reference_commit=commit, command_line=cmdline,
                                   numpy=np.__version__, scipy=scipy.__version__)
        with open(args.intermediates_out, "w") as fh:
            json.dump(inter, fh, indent=1)
            fh.write("\n")
    json.dump(fit, sys.stdout, indent=1)
    sys.stdout.write("\n")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def intermediates(ref, p, otf2d, prol, avg_xyz, frames_yx, k0, modamp, down, phases, otf_path):
    import numpy as np
    n = p.Nx
    dx = p.dx
    C = ref.calmod
    pos = [[128, 128], [128, 129], [129, 128], [128, 150], [100, 140], [128, 190],
           [60, 170], [0, 0], [255, 255], [40, 128]]

    def pick(img, positions):
        return [[int(y), int(x), float(img[y, x])] for y, x in positions]

    out = dict(description="spot-check intermediates of the reference fit on MT.mrc (all 2D arrays in the rdl [y, x] frame, FFT arrays fftshift-centred so DC is at [128,128]); positions are [y, x, value]")

    # OTF
    out["otf"] = dict(
        radial_otf_header_nx=int(np.fromfile(otf_path, "<i4", count=1)[0]),
        radial_otf_header_dkr=float(np.fromfile(otf_path, "<f4", count=11)[10]),
        radial_resampled_length=int(len(prol)), image_dkr=p.dkr,
        radial_resampled_first8=[float(v) for v in prol[:8]],
        radial_resampled_at_index=[[int(i), float(prol[i])] for i in (0, 10, 50, 80, 88, 89, 90, 100, 120, 127, 128, 130)],
        radial_resampled_sum=float(np.sum(prol)),
        radial_nonzero_count=int(np.count_nonzero(prol)),
        otf2d_sum=float(np.sum(otf2d)), otf2d_min=float(np.min(otf2d)), otf2d_max=float(np.max(otf2d)),
        otf2d_at=pick(otf2d, pos),
        note="read_otf: real parts of the MRC complex samples, slinear-resampled from dkr_otf to image dkr, zero-padded to 2*int(sqrt(2)*N/2+2) samples, evaluated at |k| on the centred grid. The 2D OTF is transpose-symmetric.")

    # apodized frame 0 and bands of orientation 0 (fit frame [y, x], raw counts)
    img4 = np.reshape(np.array(avg_xyz), (n, n, 3, 3))
    pro = np.array(np.transpose(img4[:, :, 0, :], (1, 0, 2)))
    apo = [C.apodize(p.napodize, n, n, 1, np.array(pro[:, :, i])) for i in range(3)]
    out["apodized_frame0"] = dict(
        sum=float(np.sum(apo[0])), raw_sum=float(np.sum(frames_yx[0])),
        at=pick(apo[0], [[0, 0], [0, 128], [5, 5], [9, 100], [10, 10], [128, 128], [255, 255],
                         [250, 3], [128, 0], [128, 255], [3, 250], [0, 255]]),
        raw_at=pick(frames_yx[0], [[0, 0], [0, 128], [5, 5], [9, 100], [255, 255]]))
    F_ = np.array([np.fft.fftshift(np.fft.fft2(a)) for a in apo]).reshape(3, n * n)
    sep = C.make_matrix(3, 2)
    bands = np.dot(sep, F_).reshape(3, n, n)
    out["bands_orientation0"] = dict(
        separation_matrix=sep.tolist(),
        sum_abs=[float(np.sum(np.abs(b))) for b in bands],
        sum_abs_band1_complex=float(np.sum(np.abs(bands[1] + 1j * bands[2]))),
        note="band0 = sum_j F_j; band1re = sum_j cos(j 2pi/3) F_j; band1im = sum_j sin(j 2pi/3) F_j (each complex); band1 = band1re + i band1im",
        at=[[y, x, [float(bands[b][y, x].real) for b in range(3)], [float(bands[b][y, x].imag) for b in range(3)]]
            for y, x in [[128, 128], [128, 129], [150, 140], [100, 128], [200, 60]]])
    # overlaps at the preset k0 of orientation 0
    kc = p.k0mod * math.cos(p.k0angle_c[0])
    ks = p.k0mod * math.sin(p.k0angle_c[0])
    o0, o1 = C.makeoverlaps(bands, n, n, 1, 0, 1, kc, ks, dx, 0, prol, p.lamda)
    m0 = C.getmodamp(p.k0angle_c[0], p.k0mod, bands, o0, o1, n, n, 1, 0, 1, dx, 0, prol, p.lamda, False, p)
    out["overlaps_orientation0_preset_k0"] = dict(
        k0=[kc, ks], sum_abs2_overlap0=float(np.sum(np.abs(o0) ** 2)),
        sum_abs2_overlap1=float(np.sum(np.abs(o1) ** 2)),
        overlap0_at=[[y, x, float(o0[y, x].real), float(o0[y, x].imag)] for y, x in [[0, 0], [128, 128], [50, 200]]],
        overlap1_at=[[y, x, float(o1[y, x].real), float(o1[y, x].imag)] for y, x in [[0, 0], [128, 128], [50, 200]]],
        modamp=[m0.real, m0.imag], abs_modamp=abs(m0))

    # ---- MPE with a deterministic SR proxy
    raw_mean = frames_yx.mean(0)
    proxy_lo = np.clip(raw_mean - p.constbkgd, 0, None)
    sr2x = minmax_ref(upsample2_bilinear_half_pixel(proxy_lo))   # 512 x 512, [y, x]
    sr_raw_grid = downsample2_box(sr2x)                          # the reference's cv2.resize back to N x N
    alpha = [down[d]["alpha_used"] for d in range(3)]
    kmag = [down[d]["magnitude_used"] for d in range(3)]
    # the predict script's array frame is the transpose of rdl's (rows = MRC x)
    mpe_ref = mpe_reference_frame(sr_raw_grid.T, alpha, kmag, phases, otf2d, dx)
    mpe_yx = np.transpose(mpe_ref, (0, 2, 1))
    # same thing computed directly in rdl convention
    pats = patterns_rdl(n, dx, [[float(k0[d, 0]), float(k0[d, 1])] for d in range(3)], phases)
    direct = np.array([np.abs(np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(pt * sr_raw_grid)) * otf2d))) for pt in pats])
    mpe_train = minmax_ref(mpe_yx)                               # train script: all 9 together
    mpe_pred = np.array([minmax_ref(f) for f in mpe_yx])         # predict script: per frame
    ppos = [[128, 128], [64, 64], [200, 100], [10, 240], [0, 0], [255, 255]]
    # do MPE frames reproduce the measured phases? corr(gen_j, raw_i) within each orientation
    corr = []
    for d in range(3):
        G = mpe_yx[3 * d:3 * d + 3] - mpe_yx[3 * d:3 * d + 3].mean(0)
        Dm = frames_yx[3 * d:3 * d + 3] - frames_yx[3 * d:3 * d + 3].mean(0)
        corr.append([[float(np.corrcoef(G[j].ravel(), Dm[i].ravel())[0, 1]) for i in range(3)]
                     for j in range(3)])
    diag_rows = sum(int(np.argmax(corr[d][j]) == j) for d in range(3) for j in range(3))
    out["mpe"] = dict(
        sr_proxy_definition="P = mean of the 9 raw frames ([y,x]) minus 100, clipped at 0; upsampled x2 by bilinear interpolation with half-pixel centres (src = (i+0.5)/2-0.5, clamped to [0, N-1]) separably to 512x512; min-max normalised as the reference's prctile_norm: (v-min)/(max-min+1e-7). Resized back to 256x256 as the reference's cv2.resize(INTER_LINEAR) does at an exact 1/2 scale, which OpenCV routes to INTER_AREA's integer fast path = plain 2x2 block mean (no renormalisation after).",
        sr_proxy_512_sum=float(np.sum(sr2x)), sr_proxy_512_at=pick(sr2x, [[0, 0], [256, 256], [511, 511], [100, 300]]),
        sr_raw_grid_sum=float(np.sum(sr_raw_grid)), sr_raw_grid_at=pick(sr_raw_grid, ppos),
        pattern_definition="per orientation d, phase j: pattern = prctile_norm(|e^{i(kL.r + phi_d + j 2pi/3)} + e^{-i kL.r}|^2) with kL = pi |k0_d| (cos, sin of the angle) so the fringe frequency is k0_d; MPE_raw = |IFFT(ifftshift(fftshift(FFT(pattern * SR)) * OTF2d))|; k0 and phi after the predict script's fallback rules (none triggered).",
        pattern_sums=[float(np.sum(x)) for x in pats],
        pattern_at=[pick(x, [[128, 128], [0, 0], [37, 211]]) for x in pats],
        mpe_raw_sums=[float(np.sum(f)) for f in mpe_yx],
        mpe_raw_at=[pick(f, ppos) for f in mpe_yx],
        mpe_raw_max=float(np.max(mpe_yx)), mpe_raw_min=float(np.min(mpe_yx)),
        train_joint_minmax_sums=[float(np.sum(f)) for f in mpe_train],
        train_joint_minmax_at=[pick(f, ppos[:3]) for f in mpe_train],
        predict_per_frame_minmax_sums=[float(np.sum(f)) for f in mpe_pred],
        predict_per_frame_minmax_at=[pick(f, ppos[:3]) for f in mpe_pred],
        reference_frame_vs_direct_rdl_max_abs_diff=float(np.max(np.abs(mpe_yx - direct))),
        corr_generated_vs_measured_modulated=dict(
            note="Pearson r between the modulated parts: MPE_raw frame (d,j) minus the mean of its orientation's 3 MPE frames vs measured frame (d,i) minus the mean of its orientation's 3 measured frames; rows j, columns i. With this widefield-resolution proxy and the pattern in the far OTF tail the values are small (|r| < 0.05); rows_where_own_phase_is_best counts rows whose maximum is on the diagonal (of 9).",
            rows_where_own_phase_is_best=diag_rows,
            matrix=corr))

    # ---- intensity equalization
    raw = frames_yx
    def eq_factors(stack):
        m0 = stack[0:3].mean()
        return [float(m0 / stack[3 * d:3 * d + 3].mean()) for d in range(3)]
    out["equalization"] = dict(
        note="factor_d = mean(orientation 0 frames) / mean(orientation d frames), multiplied into orientation d's frames",
        predict_script_raw_over_65535=eq_factors(raw / 65535.0),
        train_script_after_stack_minmax=eq_factors(minmax_ref(raw)),
        background_subtracted_100=eq_factors(raw - 100.0),
        orientation_means_raw=[float(raw[3 * d:3 * d + 3].mean()) for d in range(3)])
    return out


if __name__ == "__main__":
    sys.exit(main())
