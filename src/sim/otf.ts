// Optical transfer functions as radial tables, and their evaluation on 2D frequency grids.
// A measured OTF follows the reference's read_otf semantics: real part of a radial profile
// sampled every dkrOtf, linearly resampled to the image's radial step dkr at radii strictly below
// the profile's end, zero-padded to 2·⌊diagonal + 2⌋ samples, and evaluated by linear
// interpolation at |q|. A synthetic OTF is the incoherent circular-pupil OTF.
import { type Device, type DType, meshgrid, type Tensor, tensor, tidy } from '../engine/index.js';
import { InputFileError, ParameterError } from '../errors.js';
import { readMrc } from '../io/mrc.js';
import { axisFrequencies, checkGrid, frequencySteps, gridKey, type ImageGrid, type SpectrumOrder } from './grid.js';

/** A radial OTF profile at its own sampling: values[i] at radius i·stepPerUm (cycles/µm). */
export interface RadialOtf {
  values: Float64Array;
  stepPerUm: number;
  /** Where it came from (a file path, or a description of the synthetic model). */
  source: string;
}

/** An OTF resampled for one image grid: values[i] at radius i·stepPerUm, zero beyond its end. */
export interface OtfTable {
  values: Float64Array;
  stepPerUm: number;
}

/** Parameters of the synthetic incoherent OTF. */
export interface SyntheticOtfSpec {
  /** Detection numerical aperture. */
  na: number;
  /** Emission wavelength, nm. */
  emissionWavelengthNm: number;
  /**
   * Optional extra damping a ∈ (0, 1]: the ideal OTF is multiplied by a^(ρ/cutoff) (fairSIM's
   * "attenuation" idea; real objectives fall faster than the ideal curve). Default 1 (none).
   */
  attenuation?: number;
}

/**
 * Reads a measured radial OTF from an MRC file (mode 4 complex, nx radial samples, the radial
 * step in cycles/µm stored as the header's cell length xlen, as the reference's OTF files do).
 * Only the real parts are kept, as in the reference.
 */
export function readRadialOtf(path: string): RadialOtf {
  const { header, data } = readMrc(path);
  if (header.mode !== 4 && header.mode !== 2) {
    throw new InputFileError(path, `expected a radial OTF (MRC mode 4 complex or 2 real), found mode ${header.mode}`);
  }
  const step = header.cellA[0];
  if (!(step > 0) || !Number.isFinite(step)) {
    throw new InputFileError(path, `the radial step (header xlen, cycles/µm) must be > 0, found ${step}`);
  }
  const stride = header.mode === 4 ? 2 : 1;
  const values = new Float64Array(header.nx);
  for (let i = 0; i < header.nx; i++) values[i] = data[i * stride] as number;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new InputFileError(path, 'the OTF holds non-finite values');
  }
  if (values.length < 2) throw new InputFileError(path, `a radial OTF needs ≥ 2 samples, found ${values.length}`);
  return { values, stepPerUm: step, source: path };
}

/** The synthetic profile as a RadialOtf (sampled finely; resampling it is exact enough). */
export function syntheticRadialOtf(spec: SyntheticOtfSpec, stepPerUm: number, lengthPerUm: number): RadialOtf {
  const cutoff = syntheticCutoffPerUm(spec);
  const n = Math.ceil(lengthPerUm / stepPerUm) + 1;
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = syntheticOtfValue(spec, i * stepPerUm, cutoff);
  return { values, stepPerUm, source: `synthetic NA ${spec.na}, ${spec.emissionWavelengthNm} nm` };
}

/** Incoherent cutoff 2·NA/λem, cycles/µm. */
export function syntheticCutoffPerUm(spec: SyntheticOtfSpec): number {
  if (!(spec.na > 0)) throw new ParameterError('detection NA', 'a number > 0', spec.na);
  if (!(spec.emissionWavelengthNm > 0))
    throw new ParameterError('emission wavelength (nm)', 'a number > 0', spec.emissionWavelengthNm);
  const a = spec.attenuation ?? 1;
  if (!(a > 0 && a <= 1)) throw new ParameterError('OTF attenuation', 'a number in (0, 1]', a);
  return (2 * spec.na) / (spec.emissionWavelengthNm / 1000);
}

/** (2/π)(acos s − s√(1 − s²))·a^s at s = ρ/cutoff, 0 beyond the cutoff; 1 at ρ = 0. */
function syntheticOtfValue(spec: SyntheticOtfSpec, rho: number, cutoff: number): number {
  const s = rho / cutoff;
  if (s >= 1) return 0;
  const ideal = (2 / Math.PI) * (Math.acos(s) - s * Math.sqrt(1 - s * s));
  return ideal * (spec.attenuation ?? 1) ** s;
}

/**
 * Resamples a radial OTF for an image grid (reference read_otf; shared, see TABLES: read-only): linear interpolation at radii
 * i·dkr for i·dkr < (n−1)·step, zero-padded to 2·⌊√((W/2)² + (H/2)²) + 2⌋ samples.
 * Throws when the profile ends before the image's largest radius while still clearly non-zero
 * (a profile measured for other sampling: zero-padding it would invent a cliff).
 */
export function otfTableForGrid(otf: RadialOtf, grid: ImageGrid): OtfTable {
  checkGrid(grid);
  return cached(TABLES, otf, gridKey(grid), () => resample(otf, grid));
}

/**
 * Derived tables are kept per source object and key, and shared: a time-lapse fits every cycle
 * with the same OTF on the same grid, and rebuilding them (~0.4 ms per fit at 256², twice in the
 * robust fit) was a tenth of a fit. Callers must not modify them.
 */
const TABLES = new WeakMap<RadialOtf, Map<string, OtfTable>>();
const MASKED = new WeakMap<OtfTable, Map<string, Float64Array>>();

function cached<K extends object, V>(store: WeakMap<K, Map<string, V>>, source: K, key: string, make: () => V): V {
  let byKey = store.get(source);
  if (!byKey) {
    byKey = new Map();
    store.set(source, byKey);
  }
  let value = byKey.get(key);
  if (value === undefined) {
    value = make();
    byKey.set(key, value);
  }
  return value;
}

function resample(otf: RadialOtf, grid: ImageGrid): OtfTable {
  const { dkr } = frequencySteps(grid);
  const src = otf.values;
  const end = (src.length - 1) * otf.stepPerUm;
  const diag = Math.floor(Math.sqrt((grid.width / 2) ** 2 + (grid.height / 2) ** 2) + 2);
  const padded = 2 * diag;
  // numpy.arange(0, end, dkr) has ⌈end/dkr⌉ elements.
  const n = Math.min(Math.ceil(end / dkr), padded);
  if (n < 2) {
    throw new InputFileError(
      otf.source,
      `the OTF spans ${end.toPrecision(4)} cycles/µm, less than two image frequency steps (${dkr.toPrecision(4)} cycles/µm)`,
    );
  }
  let peak = 0;
  for (const v of src) peak = Math.max(peak, Math.abs(v));
  const needed = Math.hypot(
    grid.width / 2 / (grid.width * grid.pixelSizeUm),
    grid.height / 2 / (grid.height * grid.pixelSizeUm),
  );
  const last = Math.abs(src[src.length - 1] as number);
  if (end < needed && last > 0.005 * peak) {
    throw new InputFileError(
      otf.source,
      `the OTF ends at ${end.toPrecision(4)} cycles/µm at ${((100 * last) / peak).toPrecision(2)}% of its peak, but this image (pixel ${grid.pixelSizeUm} µm) needs it up to ${needed.toPrecision(4)} cycles/µm; was it measured for another pixel size?`,
    );
  }
  const values = new Float64Array(padded);
  for (let i = 0; i < n; i++) {
    const x = (i * dkr) / otf.stepPerUm;
    const j = Math.min(Math.floor(x), src.length - 2);
    const t = x - j;
    values[i] = (src[j] as number) + t * ((src[j + 1] as number) - (src[j] as number));
  }
  return { values, stepPerUm: dkr };
}

/** Linear interpolation of a table at radius rho (cycles/µm), 0 beyond its end. */
export function otfAt(table: OtfTable, rho: number): number {
  const x = rho / table.stepPerUm;
  const v = table.values;
  if (!(x >= 0) || x > v.length - 1) return 0;
  const j = Math.min(Math.floor(x), v.length - 2);
  return (v[j] as number) + (x - j) * ((v[j + 1] as number) - (v[j] as number));
}

/**
 * OTF(|q|) on the grid in FFT order on the host (float64), 0 beyond cutoffPerUm or where the OTF is
 * at or below the threshold (|OTF| when `absolute`, the reference's overlap mask; the signed value
 * otherwise). Non-zero exactly where the mask keeps the frequency. Shared (see TABLES): read-only.
 */
export function maskedOtfGrid(
  table: OtfTable,
  grid: ImageGrid,
  mask: { cutoffPerUm: number; otfThreshold: number; absolute: boolean },
): Float64Array {
  const key = `${gridKey(grid)} ${mask.cutoffPerUm} ${mask.otfThreshold} ${mask.absolute}`;
  return cached(MASKED, table, key, () => maskGrid(table, grid, mask));
}

function maskGrid(
  table: OtfTable,
  grid: ImageGrid,
  mask: { cutoffPerUm: number; otfThreshold: number; absolute: boolean },
): Float64Array {
  const { dkx, dky } = frequencySteps(grid);
  const qy = axisFrequencies(grid.height, dky, 'fft');
  const qx = axisFrequencies(grid.width, dkx, 'fft');
  const out = new Float64Array(grid.height * grid.width);
  // Locals: callers pass objects of different shapes, and the loop should not depend on them.
  const { cutoffPerUm, otfThreshold, absolute } = mask;
  const negativeFrom = Math.ceil(grid.width / 2);
  for (let y = 0; y < grid.height; y++) {
    const qyy = (qy[y] as number) ** 2;
    if (!(qyy <= cutoffPerUm ** 2)) continue;
    for (let x = 0; x < grid.width; x++) {
      const r = Math.sqrt(qyy + (qx[x] as number) ** 2);
      // Only the disc r ≤ cutoff is kept. In FFT order |qx| grows up to column ⌈w/2⌉ − 1 and falls
      // after it: past the disc on the positive side, jump to the negative frequencies.
      if (!(r <= cutoffPerUm)) {
        if (x < negativeFrom) x = negativeFrom - 1;
        continue;
      }
      const h = otfAt(table, r);
      const kept = (absolute ? Math.abs(h) : h) > otfThreshold;
      out[y * grid.width + x] = kept ? h : 0;
    }
  }
  return out;
}

export interface TensorOptions {
  device?: Device;
  /** float32 (default) or float64. */
  dtype?: DType;
}

/**
 * A table on a device for element-wise lookups: rows [value, slope to the next sample], so one
 * gather gives both. Dispose it when done.
 */
export class OtfLookup {
  readonly pairs: Tensor;
  readonly invStep: number;
  readonly length: number;
  constructor(table: OtfTable, o: TensorOptions = {}) {
    const v = table.values;
    const pairs = new Float64Array(2 * v.length);
    for (let i = 0; i < v.length; i++) {
      pairs[2 * i] = v[i] as number;
      // The last sample gets slope 0, so radii beyond the table read its (zero) end value.
      pairs[2 * i + 1] = i + 1 < v.length ? (v[i + 1] as number) - (v[i] as number) : 0;
    }
    this.pairs = tensor(pairs, [v.length, 2], { dtype: o.dtype ?? 'float32', device: o.device });
    this.invStep = 1 / table.stepPerUm;
    this.length = v.length;
  }
  /** OTF at the radii r (cycles/µm, any shape), by linear interpolation. */
  at(r: Tensor): Tensor {
    return tidy(() => {
      const x = r.mul(this.invStep).clamp(0, this.length - 1);
      const j = x.floor();
      const idx = j.to('int32').flatten();
      const p = this.pairs.indexSelect(0, idx);
      const t = x.sub(j).flatten();
      return p.select(1, 0).add(p.select(1, 1).mul(t)).reshape(r.shape);
    });
  }
  dispose(): void {
    this.pairs.dispose();
  }
}

/** |q| on the grid, cycles/µm, shape [height, width], in the given order. */
export function radiusGrid(grid: ImageGrid, order: SpectrumOrder, o: TensorOptions = {}): Tensor {
  const { dkx, dky } = frequencySteps(grid);
  return tidy(() => {
    const opts = { dtype: o.dtype ?? 'float32', device: o.device };
    const qy = tensor(axisFrequencies(grid.height, dky, order), [grid.height], opts);
    const qx = tensor(axisFrequencies(grid.width, dkx, order), [grid.width], opts);
    const [y, x] = meshgrid(qy, qx) as [Tensor, Tensor];
    return y.square().add(x.square()).sqrt();
  });
}

/** The 2D OTF on the image grid, [height, width] (reference: read_otf's OTF array when centred). */
export function otf2d(
  table: OtfTable,
  grid: ImageGrid,
  order: SpectrumOrder = 'centred',
  o: TensorOptions = {},
): Tensor {
  const lookup = new OtfLookup(table, o);
  try {
    return tidy(() => lookup.at(radiusGrid(grid, order, o)));
  } finally {
    lookup.dispose();
  }
}
