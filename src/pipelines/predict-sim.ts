// `rdl predict sim`: the whole rDL-SIM pipeline on a raw SIM time-lapse (reference:
// predict_rDL_Denoising.py). Per group of `numAverage` cycles the illumination is fitted on their
// mean; then each cycle goes through rdl-cycle.ts (SR module, MPE, equalization, denoiser) and is
// written in the input's format, dimensions, frame order and header.
//
// Long acquisitions: the input is read one group of cycles at a time and the output written cycle
// by cycle to a temporary file renamed at the end, so memory does not grow with the length.
// Beyond the reference: cycles left over after the last full group are fitted on their own mean
// (the reference skipped them), and every cycle reports whether the denoiser kept the SR
// information: the modulation depth measured on input and output by the Wiener code's
// least-squares estimate, and each output frame's mean against its input frame's.

import { tensor, tidy } from '../engine/index.js';
import { InputFileError, InterruptedError } from '../errors.js';
import type { ImageStack } from '../io/stack.js';
import { openStackReader, type StackInfo } from '../io/stack-reader.js';
import { openStackWriter, type StackWriter } from '../io/stack-writer.js';
import { estimateStack, type OrientationEstimate } from '../sim/fit/estimate.js';
import type { RawStack } from '../sim/frames.js';
import { requireFiniteStack } from '../sim/frames.js';
import { otfTableForGrid, type RadialOtf } from '../sim/otf.js';
import type { SimParameters } from '../sim/params.js';
import type { PatternParams } from '../sim/pattern.js';
import { wienerReconstruct } from '../sim/reconstruct/wiener.js';
import { effectiveCutoffPerUm } from '../sim/reconstruct/wiener-filter.js';
import { type CycleOptions, denoiseCycle, type RdlModels, reorderFrames } from './rdl-cycle.js';
import { cutTile } from './tiles.js';

/** An output modulation below this fraction of the input's is reported as lost SR information. */
export const MODULATION_KEPT_MIN = 0.9;
/** A frame mean off its input's by more than this fraction is reported as a brightness bias. */
export const MEAN_BIAS_MAX = 0.02;

export interface PredictSimJob {
  input: string;
  output: string;
  models: RdlModels;
  params: SimParameters;
  otf: RadialOtf;
  fit: 'robust' | 'reference';
  /** Cycles whose mean is fitted together (the reference's num_average). */
  numAverage: number;
  dtype: 'uint16' | 'float32';
  cycle: Omit<CycleOptions, 'cutoffPerUm'>;
  /** Also write the Wiener SR image of each denoised cycle here. */
  reconstruct: string | null;
  /** Wiener parameter of that reconstruction. */
  wiener: number;
  onCycle?: (r: CycleReport, done: number, total: number) => void;
  onGroup?: (g: GroupReport) => void;
  signal?: AbortSignal;
}

/** One group's fit, as `rdl estimate --json` reports it. */
export interface GroupReport {
  cycles: [number, number];
  orientations: OrientationEstimate[];
  /** Fallbacks and unreliable-fit warnings, one line each. */
  warnings: string[];
}

export interface CycleReport {
  cycle: number;
  /** Modulation depth per orientation, measured on the input and on the output (same patterns). */
  modulation: { input: number[]; output: number[] };
  /** Per frame (file order): output mean / input mean before the low-frequency correction. */
  meanRatio: number[];
  /** Output values clipped to the uint16 range. */
  clipped: number;
  warnings: string[];
  /** Milliseconds. */
  timings: { read: number; fit: number; denoise: number; measure: number; write: number };
}

export interface PredictSimResult {
  input: StackInfo;
  groups: GroupReport[];
  cycles: CycleReport[];
}

function rawOf(img: ImageStack, from: number, frames: number): RawStack {
  const plane = img.width * img.height;
  return {
    data: (img.data as RawStack['data']).subarray(from * plane, (from + frames) * plane) as RawStack['data'],
    width: img.width,
    height: img.height,
    frames,
  };
}

function groupWarnings(g: { cycles: [number, number]; orientations: OrientationEstimate[] }): string[] {
  const out: string[] = [];
  const where = g.cycles[0] === g.cycles[1] ? `cycle ${g.cycles[0]}` : `cycles ${g.cycles[0]}–${g.cycles[1]}`;
  g.orientations.forEach((r, d) => {
    if (r.fallback) {
      out.push(
        `${where}, orientation ${d}: fitted ${r.fallbackReasons.join(' and ')} too far from the preset; using the preset (fitted angle ${r.fitted.angleRad.toFixed(4)} rad, |k0| ${r.fitted.magnitudePerUm.toFixed(4)} 1/µm)`,
      );
    }
    if (r.degenerate) out.push(`${where}, orientation ${d}: ${r.degenerate}`);
    for (const w of r.reliability?.warnings ?? []) out.push(`${where}, orientation ${d}: unreliable fit: ${w}`);
  });
  return out;
}

/** Side of the central region the modulation is measured on, px: enough bands for the least-squares fit, cheap at 2048². */
export const MODULATION_REGION = 256;

/**
 * Modulation depth per orientation of one cycle [9][H][W] (file order), measured by the Wiener
 * code's least-squares estimate on the central MODULATION_REGION² pixels (the pattern phases moved
 * to that region's centre, as for a training patch).
 */
function measureModulation(
  frames: Float32Array,
  height: number,
  width: number,
  p: SimParameters,
  otf: RadialOtf,
  patterns: readonly OrientationEstimate[],
  o: { device: string; wiener: number },
): number[] {
  const h = Math.min(height, MODULATION_REGION);
  const w = Math.min(width, MODULATION_REGION);
  const tile = { x: 2 * Math.floor((width - w) / 4), y: 2 * Math.floor((height - h) / 4), width: w, height: h };
  const region = cutTile(frames, p.orientations * p.phases, width, height, tile);
  const dx = (tile.x + w / 2 - width / 2) * p.pixelSizeUm;
  const dy = (tile.y + h / 2 - height / 2) * p.pixelSizeUm;
  const moved = patterns.map((e) => ({
    k0PerUm: e.k0PerUm,
    phaseRad: e.phaseRad + 2 * Math.PI * (e.k0PerUm[0] * dx + e.k0PerUm[1] * dy),
  }));
  return wienerOf(region, h, w, p, otf, moved, o).modulations;
}

/** The Wiener reconstruction of one cycle [9][H][W] (file order) and the modulations it measured. */
function wienerOf(
  frames: Float32Array,
  height: number,
  width: number,
  p: SimParameters,
  otf: RadialOtf,
  patterns: readonly PatternParams[],
  o: { device: string; wiener: number },
): { modulations: number[]; image: Float32Array } {
  const om = reorderFrames(frames, p, height * width, 'orientation-major');
  return tidy(() => {
    const t = tensor(om, [p.orientations, p.phases, height, width], { device: o.device });
    const r = wienerReconstruct(t, otf, p, patterns, { device: o.device, wiener: o.wiener });
    return { modulations: r.modulations, image: r.image.toFloat32Array() };
  });
}

function toOutput(
  frames: Float32Array,
  dtype: 'uint16' | 'float32',
): { data: Float32Array | Uint16Array; clipped: number } {
  if (dtype === 'float32') return { data: frames, clipped: 0 };
  let clipped = 0;
  const data = new Uint16Array(frames.length);
  for (let i = 0; i < frames.length; i++) {
    const v = Math.round(frames[i]!);
    if (v < 0 || v > 65535) clipped++;
    data[i] = v < 0 ? 0 : v > 65535 ? 65535 : v;
  }
  return { data, clipped };
}

export async function predictSim(job: PredictSimJob): Promise<PredictSimResult> {
  const p = job.params;
  const perCycle = p.orientations * p.phases;
  const reader = openStackReader(job.input);
  const writers: StackWriter[] = [];
  try {
    const info = reader.info;
    if (info.dtype === 'complex64') throw new InputFileError(job.input, 'complex data cannot be raw SIM frames');
    if (info.frames === 0 || info.frames % perCycle !== 0) {
      throw new InputFileError(
        job.input,
        `${info.frames} frames is not a whole number of SIM cycles (${p.orientations} orientations × ${p.phases} phases = ${perCycle} frames each)`,
      );
    }
    const { width, height } = info;
    const cycles = info.frames / perCycle;
    const open = (
      path: string,
      dims: { width: number; height: number; frames: number },
      dtype: 'uint16' | 'float32',
      scale: number,
    ) => {
      // The file's pixel size, else the one the fit used (so Fiji shows µm either way).
      const px = info.pixelSizeUm ?? { x: p.pixelSizeUm, y: p.pixelSizeUm, z: null };
      // The input's ImageJ axes (e.g. T × C) when they describe its pages.
      const ij = info.tiff?.imagej;
      const axesFit = ij != null && ij.channels * ij.slices * ij.frames === info.frames;
      const w = openStackWriter(path, dims, dtype, {
        pixelSizeUm: { x: px.x / scale, y: px.y / scale, z: px.z },
        ...(scale === 1 && info.mrc ? { template: info.mrc } : {}),
        // A time-lapse (ImageJ frames, not slices) unless the input's own axes say otherwise.
        ...(scale === 2 || !axesFit ? { timeLapse: true } : {}),
        ...(scale === 1 && ij && axesFit
          ? { tiffAxes: { channels: ij.channels, slices: ij.slices, frames: ij.frames } }
          : {}),
        inputs: [job.input],
      });
      writers.push(w);
      return w;
    };
    const out = open(job.output, { width, height, frames: info.frames }, job.dtype, 1);
    const recon =
      job.reconstruct === null
        ? null
        : open(job.reconstruct, { width: 2 * width, height: 2 * height, frames: cycles }, 'float32', 2);
    const table = otfTableForGrid(job.otf, { height, width, pixelSizeUm: p.pixelSizeUm });
    const cycleOptions: CycleOptions = { ...job.cycle, cutoffPerUm: effectiveCutoffPerUm(table) };
    const groups: GroupReport[] = [];
    const reports: CycleReport[] = [];
    const n = job.numAverage;
    for (let first = 0; first < cycles; first += n) {
      const count = Math.min(n, cycles - first);
      let t0 = performance.now();
      const img = reader.read(first * perCycle, (first + count) * perCycle);
      const read = performance.now() - t0;
      const slab = rawOf(img, 0, count * perCycle);
      requireFiniteStack(slab, job.input);
      t0 = performance.now();
      const fit = estimateStack(slab, job.otf, p, { numAverage: count, fit: job.fit, device: job.cycle.device });
      const group: GroupReport = {
        cycles: [first, first + count - 1],
        orientations: fit.orientations,
        warnings: [],
      };
      group.warnings = groupWarnings(group);
      groups.push(group);
      job.onGroup?.(group);
      const fitMs = performance.now() - t0;
      for (let c = 0; c < count; c++) {
        // Let a pending Ctrl-C (SIGINT handler) run: the cycles are synchronous engine work.
        await new Promise((resolve) => setImmediate(resolve));
        if (job.signal?.aborted)
          throw new InterruptedError(`interrupted at cycle ${first + c} of ${cycles}; nothing written`);
        const raw = Float32Array.from(rawOf(img, c * perCycle, perCycle).data as ArrayLike<number>);
        t0 = performance.now();
        const dn = denoiseCycle(raw, height, width, fit.orientations, job.models, p, table, cycleOptions);
        const denoiseMs = performance.now() - t0;
        t0 = performance.now();
        const optsW = { device: job.cycle.device, wiener: job.wiener };
        const mIn = measureModulation(raw, height, width, p, job.otf, fit.orientations, optsW);
        const mOut = measureModulation(dn.frames, height, width, p, job.otf, fit.orientations, optsW);
        const sr =
          recon === null ? null : wienerOf(dn.frames, height, width, p, job.otf, fit.orientations, optsW).image;
        const measureMs = performance.now() - t0;
        t0 = performance.now();
        const { data, clipped } = toOutput(dn.frames, job.dtype);
        out.write(data);
        if (recon !== null && sr !== null) recon.write(sr);
        const report: CycleReport = {
          cycle: first + c,
          modulation: { input: mIn, output: mOut },
          meanRatio: dn.meanRatios,
          clipped,
          warnings: cycleWarnings(mIn, mOut, dn.meanRatios, clipped, job),
          timings: {
            read: c === 0 ? read : 0,
            fit: c === 0 ? fitMs : 0,
            denoise: denoiseMs,
            measure: measureMs,
            write: performance.now() - t0,
          },
        };
        reports.push(report);
        job.onCycle?.(report, reports.length, cycles);
      }
    }
    out.commit();
    recon?.commit();
    return { input: info, groups, cycles: reports };
  } finally {
    for (const w of writers) w.abort();
    reader.close();
  }
}

function cycleWarnings(mIn: number[], mOut: number[], ratios: number[], clipped: number, job: PredictSimJob): string[] {
  const out: string[] = [];
  mIn.forEach((m, d) => {
    const kept = mOut[d]! / m;
    if (kept < MODULATION_KEPT_MIN) {
      out.push(
        `orientation ${d}: modulation ${m.toFixed(3)} in the input but ${mOut[d]!.toFixed(3)} in the output (${Math.round(100 * kept)} %): the denoiser flattened the stripes, so the reconstruction loses resolution`,
      );
    }
  });
  const worst = ratios.reduce((a, r) => (Math.abs(r - 1) > Math.abs(a - 1) ? r : a), 1);
  if (Math.abs(worst - 1) > MEAN_BIAS_MAX) {
    const frame = ratios.indexOf(worst);
    const fix =
      job.cycle.keepLowFrequencies > 0
        ? 'corrected by --keep-low-frequencies'
        : 'not corrected (--keep-low-frequencies 0): band separation will turn it into low-frequency errors';
    out.push(
      `frame ${frame}: the network's output mean is ${(100 * (worst - 1)).toFixed(1)} % off the input's (a per-phase brightness bias), ${fix}`,
    );
  }
  if (clipped > 0)
    out.push(`${clipped} values outside 0…65535 were clipped in the uint16 output (use --dtype float32 to keep them)`);
  return out;
}
