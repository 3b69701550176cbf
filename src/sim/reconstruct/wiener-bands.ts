// Band separation with known phases, and placing the bands on the 2× grid shifted into their true
// frequency positions (ALGORITHMS.md §8 steps 2–3).
//
// For frames D_p = [S·(1 + m cos(2πk·r + φ_p))] ⊛ PSF, with r from the image centre (the
// `rdl estimate` origin) and the FFT's phase reference at pixel 0 (x = r + c, c the centre
// (W/2, H/2)·dx), the pattern in FFT coordinates has phase φ'_p = φ_p − 2πk·c. Then
//   D̃_p(q) = OTF(q)·[S̃(q) + (m/2)e^{iφ'_p} S̃(q − k) + (m/2)e^{−iφ'_p} S̃(q + k)].
// Equally spaced phases make the mixing matrix's columns orthogonal, so the (least-squares)
// inverse is a weighted sum: band0 = (1/P)Σ D̃_p, band± = (2/P)Σ e^{∓iφ'_p} D̃_p. The depth m is not
// divided out here (band± = m·OTF·S̃(q ∓ k)); the Wiener step weights by m instead, which stays
// stable when m is small or poorly known.
import { cat, complex, fft, meshgrid, type Tensor, tensor, tidy, zeros } from '../../engine/index.js';

export interface OrientationPattern {
  /** cycles/µm, [kx, ky], x = column axis. */
  k0PerUm: [number, number];
  /** φ0, rad, origin at pixel (H/2, W/2). */
  phaseRad: number;
}

/**
 * Separated bands of one orientation from its frames [P, H, W] (real, preprocessed): spectra
 * [3, H, W] complex in FFT order, index 0 = band0, 1 = band+ (object centred at +k), 2 = band−.
 */
export function separateKnownPhases(frames: Tensor, pattern: OrientationPattern, pixelSizeUm: number): Tensor {
  return tidy(() => {
    const P = frames.dim(0);
    const H = frames.dim(1);
    const W = frames.dim(2);
    const spectra = fft.fft2(frames.to('float32'));
    const [kx, ky] = pattern.k0PerUm;
    const shift = 2 * Math.PI * (kx * (W / 2) + ky * (H / 2)) * pixelSizeUm;
    const re = new Float32Array(3 * P);
    const im = new Float32Array(3 * P);
    for (let p = 0; p < P; p++) {
      const phi = pattern.phaseRad - shift + (2 * Math.PI * p) / P;
      re[p] = 1 / P;
      // band+: (2/P)e^{−iφ'}; band−: (2/P)e^{+iφ'}.
      re[P + p] = (2 / P) * Math.cos(phi);
      im[P + p] = -(2 / P) * Math.sin(phi);
      re[2 * P + p] = (2 / P) * Math.cos(phi);
      im[2 * P + p] = (2 / P) * Math.sin(phi);
    }
    const opts = { dtype: 'float32', device: frames.device } as const;
    const weights = complex(tensor(re, [3, P, 1, 1], opts), tensor(im, [3, P, 1, 1], opts));
    return spectra.unsqueeze(0).mul(weights).sum(1);
  });
}

/**
 * Spectra [B, H, W] (FFT order) on the 2× grid [B, 2H, 2W] by zero padding, each multiplied in
 * real space by e^{i2π s_b·x} (x from pixel 0, µm), which moves its content by +s_b in frequency.
 * shifts are cycles/µm per band, [sx, sy].
 */
export function upsampleAndShift(spectra: Tensor, shifts: readonly [number, number][], pixelSizeUm: number): Tensor {
  return tidy(() => {
    const H = spectra.dim(1);
    const W = spectra.dim(2);
    const centred = fft.fftshift(spectra, [1, 2]);
    // Centred H×W block into the centre of a 2H×2W array (zero frequency lands on index H, W).
    const pad = (t: Tensor) => t.pad([W / 2, W / 2, H / 2, H / 2]);
    const big = fft.ifftshift(complex(pad(centred.real()), pad(centred.imag())), [1, 2]);
    const img = fft.ifft2(big);
    const fine = pixelSizeUm / 2;
    const opts = { dtype: 'float64', device: spectra.device } as const;
    const ys = tensor(
      Float64Array.from({ length: 2 * H }, (_, i) => i * fine),
      [2 * H],
      opts,
    );
    const xs = tensor(
      Float64Array.from({ length: 2 * W }, (_, i) => i * fine),
      [2 * W],
      opts,
    );
    const [Y, X] = meshgrid(ys, xs) as [Tensor, Tensor];
    const out: Tensor[] = [];
    for (let b = 0; b < shifts.length; b++) {
      const [sx, sy] = shifts[b]!;
      let band = img.select(0, b);
      if (sx !== 0 || sy !== 0) {
        // Phase in float64 (hundreds of radians at the far edge), then the unit phasor in float32.
        const arg = X.mul(2 * Math.PI * sx).add(Y.mul(2 * Math.PI * sy));
        band = band.mul(complex(arg.cos().to('float32'), arg.sin().to('float32')));
      }
      out.push(fft.fft2(band).unsqueeze(0));
    }
    return cat(out, 0);
  });
}

// ---- The reconstruction's bands, one orientation at a time, on boxes (wiener.ts) ----
// A band's weights (its shifted OTF) are zero beyond the OTF's support around its centre, so
// everything the Wiener sum needs of a band lies in a box of ±hb frequency steps around that
// centre: about a quarter of the 2× grid. Boxes are complex [2hb_y + 1, 2hb_x + 1] in centred order
// (index i ↔ label i − hb, label = frequency/dk), placed into the 2× grid's FFT-order planes at
// an integer offset (addCentred).

/** A band on its box: labels −hb…hb around `offset` (integer steps), moved by `fraction` steps (|f| ≤ ½) within it. */
export interface BandBox {
  box: Tensor;
  offset: [number, number];
  fraction: [number, number];
}

/**
 * band0 and band+ of one orientation from its frames [P, H, W] (real, preprocessed), [H, W] complex
 * each, FFT order: the same weighted sums as separateKnownPhases (whose band− is band+ mirrored and
 * conjugated, so it is not formed), taken over the frames before the transform (the transform is
 * linear): two transforms instead of P.
 */
export function bandPair(frames: Tensor, pattern: OrientationPattern, pixelSizeUm: number): { b0: Tensor; bp: Tensor } {
  return tidy(() => {
    const [P, H, W] = frames.shape as [number, number, number];
    const [kx, ky] = pattern.k0PerUm;
    const shift = 2 * Math.PI * (kx * (W / 2) + ky * (H / 2)) * pixelSizeUm;
    // Columns: band0 (1/P, 0), band+ ((2/P)cos φ', −(2/P) sin φ') → s0 + 0i and s+ interleaved.
    const c = new Float32Array(P * 4);
    for (let p = 0; p < P; p++) {
      const phi = pattern.phaseRad - shift + (2 * Math.PI * p) / P;
      c.set([1 / P, 0, (2 / P) * Math.cos(phi), -(2 / P) * Math.sin(phi)], p * 4);
    }
    const mixed = frames
      .to('float32')
      .reshape([P, H * W])
      .transpose(0, 1)
      .matmul(tensor(c, [P, 4], { dtype: 'float32', device: frames.device }))
      .reshape([H * W, 2, 2])
      .viewAsComplex(); // [H·W, 2]
    const spectra = fft.fft2(mixed.transpose(0, 1).reshape([2, H, W]));
    return { b0: spectra.select(0, 0).contiguous(), bp: spectra.select(0, 1).contiguous() };
  });
}

/** Label range [first, last] of an FFT-order axis of n samples. */
const labels = (n: number): [number, number] => [-Math.floor(n / 2), Math.ceil(n / 2) - 1];

/**
 * Runs of labels [lo, hi] of an FFT-order axis of n samples, as (label, index, length) pieces that
 * are contiguous in memory; labels outside the axis are dropped.
 */
function runs(n: number, lo: number, hi: number): { label: number; index: number; length: number }[] {
  const [first, last] = labels(n);
  const a = Math.max(lo, first);
  const b = Math.min(hi, last);
  const out: { label: number; index: number; length: number }[] = [];
  if (a > b) return out;
  if (a < 0) out.push({ label: a, index: a + n, length: Math.min(b, -1) - a + 1 });
  if (b >= 0) out.push({ label: Math.max(a, 0), index: Math.max(a, 0), length: b - Math.max(a, 0) + 1 });
  return out;
}

/**
 * The centred box of labels −hb…hb (per axis, [y, x]) of an FFT-order spectrum [Hs, Ws]: complex
 * [2hb_y + 1, 2hb_x + 1], zero where a label lies outside the spectrum. A new tensor.
 */
export function centredBox(src: Tensor, hb: [number, number]): Tensor {
  return tidy(() => {
    const [Hs, Ws] = src.shape as [number, number];
    const out = zeros([2 * hb[0] + 1, 2 * hb[1] + 1], { dtype: src.dtype, device: src.device });
    for (const ry of runs(Hs, -hb[0], hb[0])) {
      for (const rx of runs(Ws, -hb[1], hb[1])) {
        out
          .narrow(0, ry.label + hb[0], ry.length)
          .narrow(1, rx.label + hb[1], rx.length)
          .copy_(src.narrow(0, ry.index, ry.length).narrow(1, rx.index, rx.length));
      }
    }
    return out;
  });
}

/**
 * target[FFT order] += alpha·box, the box's label i − hb placed at label i − hb + offset (per
 * axis); labels beyond the target's are dropped (the Wiener weights are not periodic). In place.
 */
export function addCentred(target: Tensor, box: Tensor, offset: [number, number], alpha = 1): void {
  const [Ht, Wt] = target.shape as [number, number];
  const hb: [number, number] = [(box.dim(0) - 1) / 2, (box.dim(1) - 1) / 2];
  tidy(() => {
    for (const ry of runs(Ht, offset[0] - hb[0], offset[0] + hb[0])) {
      for (const rx of runs(Wt, offset[1] - hb[1], offset[1] + hb[1])) {
        target
          .narrow(0, ry.index, ry.length)
          .narrow(1, rx.index, rx.length)
          .add_(
            box.narrow(0, ry.label - offset[0] + hb[0], ry.length).narrow(1, rx.label - offset[1] + hb[1], rx.length),
            alpha,
          );
      }
    }
  });
}

/**
 * band+ [H, W] (FFT order) moved by `shift` (cycles/µm, [sx, sy]) on the 2× grid, as
 * upsampleAndShift does (zero padding, then a real-space phase ramp e^{i2π s·x}, x from pixel 0),
 * returned on its box: the ramp's whole steps are the box's offset (they only relabel the
 * spectrum), its fraction is applied; one inverse and one forward transform of the 2× grid.
 */
export function shiftedBox(bp: Tensor, shift: [number, number], pixelSizeUm: number, hb: [number, number]): BandBox {
  const [H, W] = bp.shape as [number, number];
  const H2 = 2 * H;
  const W2 = 2 * W;
  // In steps dk = 1/(n·dx) (the 2× grid has the raw grid's steps): s/dk = whole + fraction.
  const sy = shift[1] * H * pixelSizeUm;
  const sx = shift[0] * W * pixelSizeUm;
  const offset: [number, number] = [Math.round(sy), Math.round(sx)];
  const fraction: [number, number] = [sy - offset[0], sx - offset[1]];
  const box = tidy(() => {
    // Zero padding in FFT order: the raw labels keep their places.
    const padded = zeros([H2, W2], { dtype: bp.dtype, device: bp.device });
    for (const ry of runs(H, ...labels(H))) {
      for (const rx of runs(W, ...labels(W))) {
        padded
          .narrow(0, ry.label < 0 ? ry.label + H2 : ry.label, ry.length)
          .narrow(1, rx.label < 0 ? rx.label + W2 : rx.label, rx.length)
          .copy_(bp.narrow(0, ry.index, ry.length).narrow(1, rx.index, rx.length));
      }
    }
    const image = fft.ifft2(padded);
    padded.dispose();
    // e^{i2π f·i/n} along each axis of the 2× grid (i the sample index): the separable fractional ramp.
    const ramp = (f: number, n: number, shape: number[]) => {
      const re = new Float32Array(n);
      const im = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * f * i) / n;
        re[i] = Math.cos(a);
        im[i] = Math.sin(a);
      }
      const o = { dtype: 'float32', device: bp.device } as const;
      return complex(tensor(re, shape, o), tensor(im, shape, o));
    };
    if (fraction[0] !== 0) image.mul_(ramp(fraction[0], H2, [H2, 1]));
    if (fraction[1] !== 0) image.mul_(ramp(fraction[1], W2, [1, W2]));
    const spectrum = fft.fft2(image);
    image.dispose();
    return centredBox(spectrum, hb);
  });
  return { box, offset, fraction };
}
