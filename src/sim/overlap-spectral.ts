// The reference's modamp (overlap.ts) evaluated in the frequency domain, without inverse FFTs.
// With o = IFFT(O) (1/(H·W) per transform) and the ramp e^{iψ}, ψ = 2π[(x − W/2)·dx·kx + (y − H/2)·dx·ky]:
//   Σ_r conj(o0)·o1·e^{iψ} = (H·W)⁻² Σ_{u,u'} conj(O0[u])·O1[u']·Kx(u'x − ux)·Ky(u'y − uy),
//   Kx(d) = e^{−iπ·κx}·D_W(d + κx),  D_n(f) = Σ_{x<n} e^{i2πxf/n} = e^{iπf(n−1)/n}·sin(πf)/sin(πf/n),
// κx = kx/dkx (k in frequency bins), and Ky likewise. O0 = band0·w0 is zero outside the lens
// |u| ≤ R, |u − k| ≤ R, and O1 = B1·w1 outside its mirror image, so only two small boxes of the
// spectrum take part, and the double sum is two complex matrix products per candidate:
//   num = Σ_{a,a'} Ky[a,a']·(conj(O0)·Kx·O1ᵀ)[a,a'].
// The same number as the two inverse FFTs up to rounding, at a fraction of their cost when the
// lens is small against the grid (a 256² cycle near the OTF cutoff: boxes of ~70–150 bins).
import { cat, complex, type Device, type DType, fft, keep, type Tensor, tensor, tidy } from '../engine/index.js';
import { frequencySteps, type ImageGrid } from './grid.js';
import { type OtfTable, otfAt } from './otf.js';
import type { KCandidate, OverlapSettings } from './overlap.js';
import type { Modamp } from './search.js';

/** A candidate's two spectrum boxes: common size h × w, first frequency label per band (bins, centred). */
interface Box {
  h: number;
  w: number;
  /** [band 0, band 1] first label along y and x (may be negative). */
  y0: [number, number];
  x0: [number, number];
}

export class SpectralModamp {
  /** Bands in centred order, flattened: index ((d·2 + band)·H + y)·W + x. */
  readonly #bands: Tensor;
  /** OTF(|u|), centred, on the host. [H·W] */
  readonly #otf0: Float64Array;
  /** 1 where |u| ≤ R and |OTF(|u|)| > threshold, centred, on the host. [H·W] */
  readonly #fixed: Uint8Array;
  readonly #table: OtfTable;
  readonly #grid: ImageGrid;
  readonly #settings: OverlapSettings;
  /** Radius beyond which no weight can be non-zero, cycles/µm. */
  readonly #supportPerUm: number;
  readonly #dtype: DType;
  readonly #device: Device;
  readonly #toeplitz = new Map<number, Tensor>();

  /** bands: [D, 2, H, W] complex in FFT order; otf0 and fixedMask: [H, W] in FFT order. */
  constructor(
    bands: Tensor,
    otf0: Tensor,
    fixedMask: Tensor,
    table: OtfTable,
    grid: ImageGrid,
    settings: OverlapSettings,
  ) {
    this.#grid = grid;
    this.#settings = settings;
    this.#dtype = bands.dtype === 'complex128' ? 'float64' : 'float32';
    this.#device = bands.device;
    this.#table = table;
    this.#bands = tidy(() => fft.fftshift(bands, [-2, -1]).contiguous().reshape([-1]));
    this.#otf0 = tidy(() => Float64Array.from(fft.fftshift(otf0, [-2, -1]).toArray()));
    this.#fixed = tidy(() => fft.fftshift(fixedMask, [-2, -1]).to('uint8').toArray() as Uint8Array);
    // Both |OTF| values must exceed the threshold: beyond the table's last such radius every weight is 0.
    let last = 0;
    table.values.forEach((v, i) => {
      if (Math.abs(v) > settings.otfThreshold) last = i;
    });
    this.#supportPerUm = Math.min(settings.cutoffPerUm, (last + 1) * table.stepPerUm);
  }

  /**
   * Whether this beats the two inverse FFTs per candidate. The products cost ~h·w·(h + w) complex
   * multiply-adds, the transforms ~H·W·log2(H·W) each plus full-grid weights; the factor 10 puts
   * the crossover where it was measured on the 488 nm OTF near its cutoff (spectral/FFT time 0.22
   * at 128², 0.55 at 256², 0.57 at 512², 0.84 at 1024²), so very large images go back to the FFTs.
   */
  isCheaper(cands: readonly KCandidate[]): boolean {
    const { height: H, width: W } = this.#grid;
    return cands.every((c) => {
      const { h, w } = this.#box(c);
      return h * w * (h + w) <= 10 * H * W * Math.log2(H * W);
    });
  }

  /**
   * One candidate at a time: the lenses of different orientations have different shapes, and a
   * common box for a batch would cost about twice the products (a call's overhead is ~0.1 ms, the
   * products ~1 ms).
   */
  evaluate(cands: readonly KCandidate[]): Modamp[] {
    const out = tidy(() => cat(cands.map((c) => this.#modamp(c))).toArray());
    return cands.map((_, i) => [out[2 * i] as number, out[2 * i + 1] as number]);
  }

  /** modamp [2] (re, im) of one candidate. */
  #modamp(c: KCandidate): Tensor {
    const box = this.#box(c);
    return tidy(() => {
      const { a0, a1, den } = this.#weightedBoxes(c, box);
      // Σ_{a,a'} Ky[a,a']·(conj(A0)·Kx·A1ᵀ)[a,a'].
      const m = a0
        .conj()
        .matmul(this.#kernel(c, box, 'x'))
        .matmul(a1.transpose(0, 1));
      const n2 = (this.#grid.height * this.#grid.width) ** 2;
      const num = m
        .mul(this.#kernel(c, box, 'y'))
        .sum()
        .div(n2);
      return num.viewAsReal().div(den);
    });
  }

  /**
   * Bounding box (cycles/µm) of the lens |u| ≤ S, |u − k| ≤ S (S the support radius), or null when
   * the discs do not meet. Its extremes along an axis are the discs' own extremes where those lie
   * inside the other disc, or else the two points where the circles cross.
   */
  #lens(kx: number, ky: number): { x: [number, number]; y: [number, number] } | null {
    const S = this.#supportPerUm;
    const k = Math.hypot(kx, ky);
    if (k > 2 * S) return null;
    const points: [number, number][] = [];
    const inside = (x: number, y: number, cx: number, cy: number) =>
      (x - cx) ** 2 + (y - cy) ** 2 <= S * S * (1 + 1e-12);
    for (const [cx, cy, ox, oy] of [
      [0, 0, kx, ky],
      [kx, ky, 0, 0],
    ] as const) {
      for (const [dx, dy] of [
        [S, 0],
        [-S, 0],
        [0, S],
        [0, -S],
      ] as const) {
        if (inside(cx + dx, cy + dy, ox, oy)) points.push([cx + dx, cy + dy]);
      }
    }
    if (k > 0) {
      const half = Math.sqrt(Math.max(0, S * S - (k * k) / 4));
      points.push(
        [kx / 2 - (half * ky) / k, ky / 2 + (half * kx) / k],
        [kx / 2 + (half * ky) / k, ky / 2 - (half * kx) / k],
      );
    }
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    return { x: [Math.min(...xs), Math.max(...xs)], y: [Math.min(...ys), Math.max(...ys)] };
  }

  /**
   * The candidate's two lens boxes (band 0: |u| ≤ S, |u − k| ≤ S; band 1: |u| ≤ S, |u + k| ≤ S, its
   * mirror image), grown to one size h × w and kept inside the grid: the first frequency label
   * (bins, may be negative) of each band along y and x. Grown boxes only add bins of weight 0.
   */
  #box(c: KCandidate): Box {
    const { height: H, width: W } = this.#grid;
    const { dkx, dky } = frequencySteps(this.#grid);
    // Centred labels run from −⌊n/2⌋ to ⌈n/2⌉ − 1; a lens that does not exist gets one (zero-weight) bin.
    const range = (span: [number, number] | undefined, sign: number, dk: number, n: number): [number, number] => {
      if (!span) return [0, 0];
      const lo = sign > 0 ? span[0] : -span[1];
      const hi = sign > 0 ? span[1] : -span[0];
      return [
        Math.max(Math.ceil(lo / dk - 1e-9), -Math.floor(n / 2)),
        Math.min(Math.floor(hi / dk + 1e-9), Math.ceil(n / 2) - 1),
      ];
    };
    const lens = this.#lens(c.kx, c.ky);
    const spans = [1, -1].map((sign) => ({ x: range(lens?.x, sign, dkx, W), y: range(lens?.y, sign, dky, H) }));
    const h = Math.max(...spans.map((s) => s.y[1] - s.y[0] + 1));
    const w = Math.max(...spans.map((s) => s.x[1] - s.x[0] + 1));
    const place = (lo: number, size: number, n: number) => Math.min(lo, Math.ceil(n / 2) - size);
    return {
      h,
      w,
      y0: spans.map((s) => place(s.y[0], h, H)) as [number, number],
      x0: spans.map((s) => place(s.x[0], w, W)) as [number, number],
    };
  }

  /** A0 = band0·w0 and A1 = B1·w1 on their boxes [h, w] (complex), and den = Σ|A0|² + Σ|A1|² over H·W. */
  #weightedBoxes(c: KCandidate, bx: Box): { a0: Tensor; a1: Tensor; den: Tensor } {
    const { height: H, width: W } = this.#grid;
    const { dkx, dky } = frequencySteps(this.#grid);
    const { cutoffPerUm, otfThreshold } = this.#settings;
    const { h, w } = bx;
    const plane = h * w;
    // The weights are computed here rather than as a dozen tensor passes over the boxes: one loop
    // with the reference's arithmetic (the table's linear interpolation, then w = OTF(|u ∓ k|)/
    // √(OTF(|u|)² + OTF(|u ∓ k|)²) where both radii are within R and both |OTF| above the threshold).
    const weights = new (this.#dtype === 'float64' ? Float64Array : Float32Array)(2 * plane);
    const index = new Int32Array(2 * plane);
    const table = this.#table;
    const fixed = this.#fixed;
    const otf0 = this.#otf0;
    const dx2 = new Float64Array(w);
    for (let s = 0; s < 2; s++) {
      const sign = s === 0 ? 1 : -1;
      const x0 = bx.x0[s] as number;
      const y0 = bx.y0[s] as number;
      const bandOffset = (c.orientation * 2 + s) * H * W;
      for (let x = 0; x < w; x++) dx2[x] = ((x0 + x) * dkx - sign * c.kx) ** 2;
      for (let y = 0; y < h; y++) {
        const dy2 = ((y0 + y) * dky - sign * c.ky) ** 2;
        const first = (y0 + y + Math.floor(H / 2)) * W + Math.floor(W / 2) + x0;
        let o = s * plane + y * w;
        for (let x = 0; x < w; x++, o++) {
          const pixel = first + x;
          index[o] = bandOffset + pixel;
          if (fixed[pixel] === 0) continue;
          const r = Math.sqrt((dx2[x] as number) + dy2);
          if (!(r <= cutoffPerUm)) continue;
          const shifted = otfAt(table, r);
          if (!(Math.abs(shifted) > otfThreshold)) continue;
          const centre = otf0[pixel] as number;
          weights[o] = shifted * (1 / Math.sqrt(centre * centre + shifted * shifted));
        }
      }
    }
    const opts = { dtype: this.#dtype, device: this.#device };
    return tidy(() => {
      const a = this.#bands
        .indexSelect(0, tensor(index, [index.length], { dtype: 'int32', device: this.#device }))
        .viewAsReal()
        .reshape([2, h, w, 2])
        .mul(tensor(weights, [2, h, w, 1], opts))
        .viewAsComplex();
      const den = a
        .abs()
        .square()
        .sum()
        .div(H * W); // Parseval
      return { a0: a.select(0, 0), a1: a.select(0, 1), den };
    });
  }

  /**
   * Kx [w, w] (axis 'x') or Ky [h, h] (axis 'y'): entry [j, j'] = e^{−iπκ}·D_n(u'_j' − u_j + κ) with
   * u the band-0 box's labels, u' the band-1 box's, κ = k/dk. Built from its 2n−1 distinct values
   * (it is Toeplitz) by one gather.
   */
  #kernel(c: KCandidate, bx: Box, axis: 'x' | 'y'): Tensor {
    const n = axis === 'x' ? this.#grid.width : this.#grid.height;
    const { dkx, dky } = frequencySteps(this.#grid);
    const size = axis === 'x' ? bx.w : bx.h;
    const starts = axis === 'x' ? bx.x0 : bx.y0;
    const m = 2 * size - 1;
    const re = new Float64Array(m);
    const im = new Float64Array(m);
    const kappa = axis === 'x' ? c.kx / dkx : c.ky / dky;
    const shift = starts[1] - starts[0] - (size - 1);
    for (let t = 0; t < m; t++) {
      const f = shift + t + kappa;
      const s = Math.sin((Math.PI * f) / n);
      // At f ≡ 0 (mod n) the ratio's limit is n·cos(πf)/cos(πf/n).
      const mag =
        Math.abs(s) < 1e-12 ? (n * Math.cos(Math.PI * f)) / Math.cos((Math.PI * f) / n) : Math.sin(Math.PI * f) / s;
      const phase = (Math.PI * f * (n - 1)) / n - Math.PI * kappa;
      re[t] = mag * Math.cos(phase);
      im[t] = mag * Math.sin(phase);
    }
    const opts = { dtype: this.#dtype, device: this.#device };
    return tidy(() =>
      complex(tensor(re, [m], opts), tensor(im, [m], opts))
        .indexSelect(0, this.#toeplitzIndex(size))
        .reshape([size, size]),
    );
  }

  /** Flat gather index of a size×size Toeplitz matrix from its 2·size − 1 values: [j, j'] → j' − j + size − 1. */
  #toeplitzIndex(size: number): Tensor {
    let index = this.#toeplitz.get(size);
    if (!index) {
      const idx = new Int32Array(size * size);
      for (let j = 0; j < size; j++) for (let k = 0; k < size; k++) idx[j * size + k] = k - j + size - 1;
      index = keep(tensor(idx, [size * size], { dtype: 'int32', device: this.#device }));
      this.#toeplitz.set(size, index);
    }
    return index;
  }

  dispose(): void {
    for (const t of [this.#bands, ...this.#toeplitz.values()]) t.dispose();
    this.#toeplitz.clear();
  }
}
