// The reference's modamp (overlap.ts) evaluated in the frequency domain, without inverse FFTs.
// With o = IFFT(O) (1/(H·W) per transform) and the ramp e^{iψ}, ψ = 2π[(x − W/2)·dx·kx + (y − H/2)·dx·ky]:
//   Σ_r conj(o0)·o1·e^{iψ} = (H·W)⁻² Σ_{u,u'} conj(O0[u])·O1[u']·Kx(u'x − ux)·Ky(u'y − uy),
//   Kx(d) = e^{−iπ·κx}·D_W(d + κx),  D_n(f) = Σ_{x<n} e^{i2πxf/n} = e^{iπf(n−1)/n}·sin(πf)/sin(πf/n),
// κx = kx/dkx (k in frequency bins), and Ky likewise. O0 = band0·w0 is zero outside the lens
// |u| ≤ R, |u − k| ≤ R, and O1 = B1·w1 outside its mirror image, so only two small boxes of the
// spectrum take part, and the double sum is two complex matrix products per candidate (by the
// engine, in the background) and a weighted sum of the n × n result, n the box's shorter side
// (on the host):
//   num = Σ_{a,a'} Ky[a,a']·(conj(O0)·Kx·O1ᵀ)[a,a']   (or the same with x and y exchanged).
// Per candidate the host gathers the boxes from a copy of the bands and weights them (one pass of
// weights serves both boxes, which are mirror images) and computes the kernels' distinct values;
// the products (~0.26 ms at 256²) run on the engine's background thread while the host prepares
// the next candidate (~0.3 ms), of another orientation (search.ts runSearches).
// The same number as the two inverse FFTs up to rounding, at a fraction of their cost when the
// lens is small against the grid (a 256² cycle near the OTF cutoff: boxes of ~70–150 bins).
import {
  type Device,
  type DType,
  keep,
  multiDotAsync,
  Scratch,
  type Tensor,
  tensor,
  tidy,
} from '../../engine/index.js';
import { frequencySteps, type ImageGrid } from '../grid.js';
import { maskedOtfGrid, type OtfTable } from '../otf.js';
import type { KCandidate, OverlapSettings } from './candidates.js';
import type { Modamp, PendingModamp } from './search.js';

/**
 * Host buffers (scratch.ts): the bands, and per candidate the boxes' columns and x offsets, band
 * 0's weights, the boxes' values and m. Shared by every instance: each is used within one
 * synchronous call (start() copies the boxes into a tensor before it returns; wait() reads m),
 * and a few MB of new buffers per fit made the robust fit (which runs many allocating passes)
 * ~15% slower on average through extra garbage collections. Large buffers (Scratch.trim) are let
 * go at dispose (a 2048² fit would otherwise pin ~250 MB).
 */
interface Buffers {
  spectra: Scratch<Float32Array | Float64Array>;
  /** Band 1 mirrored (#hostBands). */
  mirrored: Scratch<Float32Array | Float64Array>;
  /** The instance whose bands `spectra` and `mirrored` hold. */
  owner: SpectralModamp | null;
  columns: Scratch<Int32Array>;
  /** Per box column of band 0, (u_x − k_x)² (cycles²/µm²). */
  dx2: Scratch<Float64Array>;
  weights: Scratch<Float64Array>;
  boxes: Scratch<Float32Array | Float64Array>;
  m: Scratch<Float32Array | Float64Array>;
  /** weightPlanes' output. */
  planes: Scratch<Float32Array | Float64Array>;
  /** The Hankel kernel's values, reversed (start()). */
  hankel: Scratch<Float32Array | Float64Array>;
}
const buffers = (Arr: Float32ArrayConstructor | Float64ArrayConstructor): Buffers => ({
  spectra: new Scratch<Float32Array | Float64Array>(Arr),
  mirrored: new Scratch<Float32Array | Float64Array>(Arr),
  owner: null,
  columns: new Scratch(Int32Array),
  dx2: new Scratch(Float64Array),
  weights: new Scratch(Float64Array),
  boxes: new Scratch<Float32Array | Float64Array>(Arr),
  m: new Scratch<Float32Array | Float64Array>(Arr),
  planes: new Scratch<Float32Array | Float64Array>(Arr),
  hankel: new Scratch<Float32Array | Float64Array>(Arr),
});
const SCRATCH32 = buffers(Float32Array);
const SCRATCH64 = buffers(Float64Array);

/** A candidate's two spectrum boxes: common size h × w, first frequency label per band (bins, centred). */
interface Box {
  h: number;
  w: number;
  /** [band 0, band 1] first label along y and x (may be negative). */
  y0: [number, number];
  x0: [number, number];
}

export class SpectralModamp {
  /** The bands flattened (a view, FFT order): index ((d·2 + band)·H + y)·W + x. */
  readonly #bands: Tensor;
  /** What the reference's weight needs, on the host (weightAt). */
  readonly #weightTables: WeightTables;
  readonly #grid: ImageGrid;
  /** Frequency steps of the grid, cycles/µm. */
  readonly #steps: { dkx: number; dky: number };
  /** Radius beyond which no weight can be non-zero, cycles/µm. */
  readonly #supportPerUm: number;
  readonly #dtype: DType;
  readonly #device: Device;
  readonly #scratch: Buffers;

  /** bands: [D, 2, H, W] complex in FFT order. */
  constructor(bands: Tensor, table: OtfTable, grid: ImageGrid, settings: OverlapSettings) {
    this.#grid = grid;
    this.#steps = frequencySteps(grid);
    this.#dtype = bands.dtype === 'complex128' ? 'float64' : 'float32';
    this.#device = bands.device;
    this.#scratch = this.#dtype === 'float64' ? SCRATCH64 : SCRATCH32;
    this.#bands = keep(bands.reshape([-1]));
    // Both |OTF| values must exceed the threshold: beyond the table's last such radius every weight is 0.
    let last = 0;
    table.values.forEach((v, i) => {
      if (Math.abs(v) > settings.otfThreshold) last = i;
    });
    this.#supportPerUm = Math.min(settings.cutoffPerUm, (last + 1) * table.stepPerUm);
    this.#weightTables = {
      otf0: maskedOtfGrid(table, grid, {
        cutoffPerUm: settings.cutoffPerUm,
        otfThreshold: settings.otfThreshold,
        absolute: true,
      }),
      otf: table.values,
      perStep: 1 / table.stepPerUm,
      cutoffPerUm: settings.cutoffPerUm,
      threshold: settings.otfThreshold,
      support2: this.#supportPerUm ** 2 * (1 + 1e-12),
    };
  }

  /**
   * Whether this beats the two inverse FFTs per candidate. The products cost ~h·w·(h + w) complex
   * multiply-adds, the transforms ~H·W·log2(H·W) each plus full-grid weights; the factor 20 puts
   * the crossover where the measured times point on the 488 nm OTF near its cutoff (spectral/FFT
   * time 0.14 at 128², 0.32 at 256², 0.29 at 512², 0.39 at 1024², 0.75 at 2048²; 2 cores), i.e.
   * between 2048² and 4096², beyond which the FFTs are used.
   */
  isCheaper(cands: readonly KCandidate[]): boolean {
    return cands.every((c) => this.#cheaper(this.#box(c)));
  }

  #cheaper({ h, w }: Box): boolean {
    const { height: H, width: W } = this.#grid;
    return h * w * (h + w) <= 20 * H * W * Math.log2(H * W);
  }

  /**
   * One candidate at a time (the lenses of different orientations have different shapes, and a
   * common box for a batch would cost about twice the products), all on this thread: for a few
   * candidates the background thread gains nothing, and after parallel work (the robust fit) it
   * competes with libtorch's spinning pool threads for the cores (~2 ms more for 3 candidates).
   */
  evaluate(cands: readonly KCandidate[]): Modamp[] {
    return cands.map((c) => (this.start(c, true, 'here') as PendingModamp).wait());
  }

  /**
   * Starts one candidate: the host builds its weighted boxes and kernels, and the matrix products
   * run on the engine's background thread (engine/async.ts) while the caller goes on, typically
   * preparing another orientation's candidate; wait() takes the modamp (re, im). Null when the
   * two inverse FFTs would be cheaper for this candidate (isCheaper), unless forced. `here`
   * computes the products at once on this thread.
   */
  start(c: KCandidate, force = false, where: 'background' | 'here' = 'background'): PendingModamp | null {
    const box = this.#box(c);
    if (!force && !this.#cheaper(box)) return null;
    const { h, w } = box;
    const opts = { dtype: this.#dtype, device: this.#device };
    // The double sum is Σ_{a,a'} Ky[a,a']·(conj(A0)·Kx·A1ᵀ)[a,a'] = Σ_{x,x'} Kx[x,x']·(conj(A0)ᵀ·Ky·A1)[x,x']:
    // the matrix products (in the background) cost h·w·(h + w) either way, and the host's weighted
    // sum over the product (the Toeplitz kernel's 2n − 1 distinct values, cheaper than
    // materialising it and two more passes) is n², so the shorter side n = min(h, w) is reduced on
    // the host. The other kernel enters the products as a Hankel matrix, a view (unfold) of its
    // reversed values, not n² copies: the host wrote band 1's box reversed along that axis (A1r),
    // so Kx·A1ᵀ = Hx·A1rᵀ with Hx[j, i] = Kx[j, w − 1 − i] = values[2w − 2 − i − j] (along y alike).
    const alongRows = h <= w;
    const { a, den } = this.#weightedBoxes(c, box, alongRows ? 'columns' : 'rows');
    const kx = this.#kernelValues(c, box, 'x');
    const ky = this.#kernelValues(c, box, 'y');
    const [hankelKernel, host, n] = alongRows ? [kx, ky, h] : [ky, kx, w];
    // Reversed into a buffer of the engine's dtype, so that the tensor is a plain copy (a float64 →
    // float32 conversion per candidate cost more than the reversal).
    const hankelValues = reverseComplexInto(hankelKernel, this.#scratch.hankel.view(hankelKernel.length));
    const products = tidy(() => {
      const boxes = tensor(a, [2, h, w, 2], opts).viewAsComplex();
      const m = alongRows ? w : h;
      const hankel = tensor(hankelValues, [2 * m - 1, 2], opts)
        .viewAsComplex()
        .unfold(0, m, 1);
      const [a0, a1r] = [boxes.select(0, 0), boxes.select(0, 1)];
      const chain = alongRows ? [a0, hankel, a1r.transpose(0, 1)] : [a0.transpose(0, 1), hankel, a1r];
      // The inputs are copies: the host buffers are free again at once. Either order of the chain
      // costs the same here, so the product computed here needs no ordering.
      if (where === 'background') return multiDotAsync(chain);
      const product = keep(chain.reduce((x, y) => x.matmul(y)));
      return { wait: () => product };
    });
    const n2 = (this.#grid.height * this.#grid.width) ** 2;
    return {
      wait: (): Modamp => {
        const m = this.#scratch.m.view(2 * n * n);
        const product = products.wait();
        try {
          product.readInto(m);
        } finally {
          product.dispose();
        }
        let re = 0;
        let im = 0;
        for (let i = 0; i < n; i++) {
          // Row i of the Toeplitz kernel is values[n − 1 − i … 2n − 2 − i].
          const first = n - 1 - i;
          for (let j = 0; j < n; j++) {
            const mr = m[2 * (i * n + j)] as number;
            const mi = m[2 * (i * n + j) + 1] as number;
            const kr = host[2 * (first + j)] as number;
            const ki = host[2 * (first + j) + 1] as number;
            re += mr * kr - mi * ki;
            im += mr * ki + mi * kr;
          }
        }
        return [re / n2 / den, im / n2 / den];
      },
    };
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
    const { dkx, dky } = this.#steps;
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

  /**
   * [conj(A0), A1r] on their boxes, [2, h, w] complex interleaved on the host (A0 = band0·w0, A1 =
   * B1·w1, A1r = A1 with its columns or its rows in reverse order, see start()), and den = Σ|A0|² + Σ|A1|² over H·W (Parseval). One loop with the reference's arithmetic
   * (the table's linear interpolation, then w = OTF(|u ∓ k|)/√(OTF(|u|)² + OTF(|u ∓ k|)²) where both
   * radii are within R and both |OTF| above the threshold), in float64 whatever the dtype.
   */
  #weightedBoxes(
    c: KCandidate,
    bx: Box,
    reversed: 'columns' | 'rows',
  ): { a: Float32Array | Float64Array; den: number } {
    const { height: H, width: W } = this.#grid;
    const { dkx, dky } = this.#steps;
    const { h, w } = bx;
    const { spectra, mirrored } = this.#hostBands();
    const a = this.#scratch.boxes.view(4 * h * w);
    // Band 0's weights w0(u) over its box. Band 1's are their mirror image: the OTF is radial, so
    // w1(u) = OTF(|u + k|)/√(OTF(|u|)² + OTF(|u + k|)²) = w0(−u), and one pass of square roots and
    // table lookups serves both boxes. Where band 1's box is exactly the mirror image of band 0's
    // (always, unless a box was moved to stay inside the grid), band 1 is written in the same pass
    // from the mirrored copy of B1 (mirrored[v] = B1(−v)); otherwise in a second pass below.
    const [bx0, bx1] = bx.x0;
    const [by0, by1] = bx.y0;
    const mirror = by1 === -by0 - h + 1 && bx1 === -bx0 - w + 1;
    const w0 = this.#scratch.weights.view(h * w);
    // Each box column's column in the FFT-ordered plane (labels below 0 wrap to the end), per band.
    const columns = this.#scratch.columns.view(2 * w);
    for (let s = 0; s < 2; s++) {
      for (let x = 0; x < w; x++) {
        const ux = (bx.x0[s] as number) + x;
        columns[s * w + x] = ux < 0 ? ux + W : ux;
      }
    }
    const dx2 = this.#scratch.dx2.view(w);
    for (let x = 0; x < w; x++) dx2[x] = ((bx0 + x) * dkx - c.kx) ** 2;
    // Weights are 0 outside the lens |u| ≤ S, |u ∓ k| ≤ S: each row visits only the lens chord
    // (one bin wider on each side against rounding; the weight tests inside stay exact).
    a.fill(0);
    if (!mirror) w0.fill(0);
    const chord = (uy: number, sign: number, boxX: number): [number, number] => {
      const [lo, hi] = this.#chord(c, uy, sign);
      return [Math.max(0, lo - boxX), Math.min(w - 1, hi - boxX)];
    };
    let den = 0;
    const tables = this.#weightTables;
    // Band 0: weights, and conj(band0·w0) into the first box; with `mirror`, band 1 too: box 0's
    // (y, x) is band 1's box (h − 1 − y, w − 1 − x), stored (start()) at (2h − 1 − y)·w + x with its
    // columns reversed, or at (h + y)·w + w − 1 − x with its rows reversed.
    const plane0 = c.orientation * 2 * H * W;
    const planeMirrored = c.orientation * H * W;
    const step1 = reversed === 'columns' ? 1 : -1;
    for (let y = 0; y < h; y++) {
      const uy = by0 + y;
      const [x1, x2] = chord(uy, 1, bx0);
      const row = (uy < 0 ? uy + H : uy) * W;
      const dy2 = (uy * dky - c.ky) ** 2;
      const row1 = reversed === 'columns' ? (2 * h - 1 - y) * w : (h + y) * w + w - 1;
      // The row's weights first, then the gathers: the two in one loop ran ~1.7× slower (V8 keeps
      // the weight's early exits and the gathers' stores in one body poorly; measured 15 vs 9 ns per point).
      for (let x = x1, o = y * w + x1; x <= x2; x++, o++) {
        w0[o] = weightAt(tables, row + (columns[x] as number), (dx2[x] as number) + dy2);
      }
      for (let x = x1, o = y * w + x1; x <= x2; x++, o++) {
        const weight = w0[o] as number;
        if (weight === 0) continue;
        const pixel = row + (columns[x] as number);
        const re = (spectra[2 * (plane0 + pixel)] as number) * weight;
        const im = (spectra[2 * (plane0 + pixel) + 1] as number) * weight;
        a[2 * o] = re;
        a[2 * o + 1] = -im;
        den += re * re + im * im;
        if (mirror) den += putWeighted(a, row1 + step1 * x, mirrored, planeMirrored + pixel, weight);
      }
    }
    if (mirror) return { a, den: den / (H * W) };
    // Band 1: label u = (by1 + y, bx1 + x) mirrors to −u, at (−by1 − y − by0, −bx1 − x − bx0) of
    // band 0's box; written with its columns or rows reversed (see start()): at (h + y)·w + w − 1 − x
    // or (2h − 1 − y)·w + x.
    const colStep = reversed === 'columns' ? -1 : 1;
    const plane1 = plane0 + H * W;
    for (let y = 0; y < h; y++) {
      const uy = by1 + y;
      const [x1, x2] = chord(uy, -1, bx1);
      const row = (uy < 0 ? uy + H : uy) * W;
      const my = -by1 - y - by0;
      const rowOut = reversed === 'columns' ? (h + y) * w + w - 1 : (2 * h - 1 - y) * w;
      for (let x = x1; x <= x2; x++) {
        const pixel = row + (columns[w + x] as number);
        const mx = -bx1 - x - bx0;
        const weight =
          my >= 0 && my < h && mx >= 0 && mx < w
            ? (w0[my * w + mx] as number)
            : // −u lies off the grid (a Nyquist label): compute w1 directly.
              weightAt(tables, pixel, ((bx1 + x) * dkx + c.kx) ** 2 + (uy * dky + c.ky) ** 2);
        if (weight !== 0) den += putWeighted(a, rowOut + colStep * x, spectra, plane1 + pixel, weight);
      }
    }
    return { a, den: den / (H * W) };
  }

  /**
   * The x labels (bins, centred) of row uy that can lie in the lens |u| ≤ S, |u − sign·k| ≤ S: one
   * bin wider on each side against rounding (the weight's own tests stay exact); empty (lo > hi)
   * where the row misses it. Not clamped to the grid.
   */
  #chord(c: KCandidate, uy: number, sign: number): [number, number] {
    const { dkx, dky } = this.#steps;
    const shiftedHalf = this.#weightTables.support2 - (uy * dky - sign * c.ky) ** 2;
    const centredHalf = this.#weightTables.support2 - (uy * dky) ** 2;
    if (shiftedHalf < 0 || centredHalf < 0) return [0, -1];
    const lo = Math.max(sign * c.kx - Math.sqrt(shiftedHalf), -Math.sqrt(centredHalf));
    const hi = Math.min(sign * c.kx + Math.sqrt(shiftedHalf), Math.sqrt(centredHalf));
    return [Math.floor(lo / dkx) - 1, Math.ceil(hi / dkx) + 1];
  }

  /**
   * The reference's weights w0 (band 0, lens around +k) and w1 (band 1, around −k) of each
   * candidate on the whole grid in FFT order, [b, 2, H, W], 0 outside the lenses: for the inverse-FFT
   * form (overlap.ts). Only the lens chords are visited (a 256² cycle: ~10× fewer points than the
   * grid), instead of some thirty full-grid tensor passes. The array is a shared buffer, valid until
   * the next call; copy it (tensor()) before calling again.
   */
  weightPlanes(cands: readonly KCandidate[]): Float32Array | Float64Array {
    const { height: H, width: W } = this.#grid;
    const { dkx, dky } = this.#steps;
    const out = this.#scratch.planes.view(cands.length * 2 * H * W);
    out.fill(0);
    const [yFirst, yLast] = [-Math.floor(H / 2), Math.ceil(H / 2) - 1];
    const [xFirst, xLast] = [-Math.floor(W / 2), Math.ceil(W / 2) - 1];
    const tables = this.#weightTables;
    for (let i = 0; i < cands.length; i++) {
      const c = cands[i] as KCandidate;
      for (let s = 0; s < 2; s++) {
        const sign = s === 0 ? 1 : -1;
        const plane = (i * 2 + s) * H * W;
        for (let uy = yFirst; uy <= yLast; uy++) {
          const [lo, hi] = this.#chord(c, uy, sign);
          const row = (uy < 0 ? uy + H : uy) * W;
          const dy2 = (uy * dky - sign * c.ky) ** 2;
          for (let ux = Math.max(lo, xFirst); ux <= Math.min(hi, xLast); ux++) {
            const pixel = row + (ux < 0 ? ux + W : ux);
            out[plane + pixel] = weightAt(tables, pixel, (ux * dkx - sign * c.kx) ** 2 + dy2);
          }
        }
      }
    }
    return out;
  }

  /**
   * The bands on the host (complex interleaved, FFT order, [D, 2, H, W]) and band 1 mirrored
   * ([D, H, W]: mirrored[v] = B1(−v), labels modulo the grid), in the shared buffers: made on this
   * instance's first candidate, and again whenever another instance has used the buffers since.
   * `mirrored` is read only where a weight is non-zero, i.e. within the support radius of the
   * origin, so only that square of labels is filled (a 256² cycle: ~⅓ of the plane; the rest holds
   * whatever it held).
   */
  #hostBands(): { spectra: Float32Array | Float64Array; mirrored: Float32Array | Float64Array } {
    const spectra = this.#scratch.spectra.view(2 * this.#bands.size);
    const mirrored = this.#scratch.mirrored.view(this.#bands.size);
    if (this.#scratch.owner !== this) {
      tidy(() => this.#bands.viewAsReal().readInto(spectra));
      const { height: H, width: W } = this.#grid;
      const { dkx, dky } = this.#steps;
      const D = this.#bands.size / (2 * H * W);
      // Centred labels within the support radius (one more against rounding), clamped to the grid.
      const labels = (dk: number, n: number): [number, number] => {
        const reach = Math.ceil(this.#supportPerUm / dk) + 1;
        return [Math.max(-reach, -Math.floor(n / 2)), Math.min(reach, Math.ceil(n / 2) - 1)];
      };
      const [yFirst, yLast] = labels(dky, H);
      const [xFirst, xLast] = labels(dkx, W);
      const wrap = (v: number, n: number) => (v < 0 ? v + n : v);
      for (let d = 0; d < D; d++) {
        for (let uy = yFirst; uy <= yLast; uy++) {
          const from = ((2 * d + 1) * H + wrap(-uy, H)) * W;
          const to = (d * H + wrap(uy, H)) * W;
          for (let ux = xFirst; ux <= xLast; ux++) {
            const f = 2 * (from + wrap(-ux, W));
            const t = 2 * (to + wrap(ux, W));
            mirrored[t] = spectra[f] as number;
            mirrored[t + 1] = spectra[f + 1] as number;
          }
        }
      }
      this.#scratch.owner = this;
    }
    return { spectra, mirrored };
  }

  /**
   * The 2n − 1 distinct values (interleaved re, im) of Kx [w, w] (axis 'x') or Ky [h, h] (axis
   * 'y'), a Toeplitz matrix: entry [j, j'] = values[j' − j + n − 1] = e^{−iπκ}·D_N(u'_j' − u_j + κ)
   * with u the band-0 box's labels, u' the band-1 box's, κ = k/dk, N the grid size.
   */
  #kernelValues(c: KCandidate, bx: Box, axis: 'x' | 'y'): Float64Array {
    const n = axis === 'x' ? this.#grid.width : this.#grid.height;
    const { dkx, dky } = this.#steps;
    const size = axis === 'x' ? bx.w : bx.h;
    const starts = axis === 'x' ? bx.x0 : bx.y0;
    const m = 2 * size - 1;
    const values = new Float64Array(2 * m);
    const kappa = axis === 'x' ? c.kx / dkx : c.ky / dky;
    const shift = starts[1] - starts[0] - (size - 1);
    // With f = j + κ (j an integer): sin(πf) = (−1)^j·sin(πκ) and e^{iπf(n−1)/n − iπκ} = (−1)^j·e^{−iπf/n},
    // so the value is sin(πκ)·(cot(πf/n) − i). θ = πf/n steps by π/n: its cosine and sine by
    // rotation from the first (rounding grows by ~1e-16 per step; a sine and cosine per entry cost
    // ~3 % of the fit).
    const sinPiKappa = Math.sin(Math.PI * kappa);
    const first = (Math.PI * (shift + kappa)) / n;
    let cos = Math.cos(first);
    let sin = Math.sin(first);
    const stepCos = Math.cos(Math.PI / n);
    const stepSin = Math.sin(Math.PI / n);
    for (let t = 0; t < m; t++) {
      if (Math.abs(sin) < 1e-12) {
        // f ≡ 0 (mod n): the ratio's limit is n·cos(πf)/cos(πf/n).
        const f = shift + t + kappa;
        const mag = (n * Math.cos(Math.PI * f)) / Math.cos((Math.PI * f) / n);
        const phase = (Math.PI * f * (n - 1)) / n - Math.PI * kappa;
        values[2 * t] = mag * Math.cos(phase);
        values[2 * t + 1] = mag * Math.sin(phase);
      } else {
        values[2 * t] = (sinPiKappa * cos) / sin;
        values[2 * t + 1] = -sinPiKappa;
      }
      const next = cos * stepCos - sin * stepSin;
      sin = sin * stepCos + cos * stepSin;
      cos = next;
    }
    return values;
  }

  /** Frees this view of the bands (the caller's tensor is untouched). */
  dispose(): void {
    this.#bands.dispose();
    const { spectra, mirrored, columns, dx2, weights, boxes, m, planes, hankel } = this.#scratch;
    // A dropped copy of the bands belongs to nobody (another live instance must copy again).
    const dropped = [spectra.trim(), mirrored.trim()].some((d) => d);
    if (dropped || this.#scratch.owner === this) this.#scratch.owner = null;
    for (const b of [columns, dx2, weights, boxes, m, planes, hankel]) b.trim();
  }
}

/** The host tables of the reference's weight (weightAt). */
interface WeightTables {
  /** OTF(|u|), FFT order, 0 outside the reference's fixed mask (|u| ≤ R, |OTF(|u|)| > threshold). [H·W] */
  otf0: Float64Array;
  /** The radial OTF table (otf.ts OtfTable) at radii i·stepPerUm. */
  otf: Float64Array;
  /** 1/stepPerUm, µm: a product in the hot loop instead of a division (~5% of the weighting). */
  perStep: number;
  cutoffPerUm: number;
  threshold: number;
  /** The support radius squared (a hair larger, against rounding), cycles²/µm². */
  support2: number;
}

/**
 * The reference's weight at a pixel (FFT order) whose shifted radius is √r2 (cycles/µm):
 * OTF(√r2)/√(OTF(|u|)² + OTF(√r2)²) where |u| ≤ R and √r2 ≤ R and both |OTF| exceed the threshold,
 * else 0. Beyond the support radius every shifted OTF is at or below the threshold, so no square
 * root or lookup is needed there. The table's interpolation (otfAt) is written out, its division
 * by the step a product (the same values to rounding): this runs for every lens point of every
 * candidate, and the call cost ~15% of the weighting, the division ~5%.
 */
function weightAt(t: WeightTables, pixel: number, r2: number): number {
  const centre = t.otf0[pixel] as number;
  if (!(r2 <= t.support2) || centre === 0) return 0;
  const r = Math.sqrt(r2);
  let shifted = 0;
  const x = r * t.perStep;
  const last = t.otf.length - 1;
  if (r <= t.cutoffPerUm && x <= last) {
    const j = Math.min(Math.floor(x), last - 1);
    const v = t.otf[j] as number;
    shifted = v + (x - j) * ((t.otf[j + 1] as number) - v);
  }
  if (!(Math.abs(shifted) > t.threshold)) return 0;
  return shifted * (1 / Math.sqrt(centre * centre + shifted * shifted));
}

/** Writes src[from]·weight to out[to] (complex values, interleaved); returns its squared magnitude. */
function putWeighted(
  out: Float32Array | Float64Array,
  to: number,
  src: Float32Array | Float64Array,
  from: number,
  weight: number,
): number {
  const re = (src[2 * from] as number) * weight;
  const im = (src[2 * from + 1] as number) * weight;
  out[2 * to] = re;
  out[2 * to + 1] = im;
  return re * re + im * im;
}

/** The complex values (interleaved re, im) in reverse order, into out (same length); returns out. */
function reverseComplexInto<T extends Float32Array | Float64Array>(values: Float64Array, out: T): T {
  for (let i = 0, j = values.length - 2; j >= 0; i += 2, j -= 2) {
    out[i] = values[j] as number;
    out[i + 1] = values[j + 1] as number;
  }
  return out;
}
