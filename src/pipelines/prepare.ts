// `rdl prepare sr|dn`: acquisitions as they come off the microscope (BioSR-arranged cells, or a
// mapping file; prepare-cells.ts) → the training layout `rdl train sr|denoise` reads:
//   <out>/train/<cell>_L<level>_<n>.tif     9 raw frames (a noisy cycle, patch × patch px),
//   <out>/train_gt/<same name>.tif          sr: the SR target (2·patch px, 1 frame);
//                                           dn: the high-SNR raw cycle (patch px, 9 frames),
//   <out>/val/, <out>/val_gt/               the same for the validation cells,
//   <out>/prepare.json                      options, cells and their split, every sample's origin
//                                           (cell, level, crop, transform), the summary.
// Cells, not samples, are split: --val-fraction of the cells (at least one) go to validation, drawn
// by the seed. --count samples in all, spread evenly over the cells of each split and over their
// levels. Sample i of a split draws its crop and transform from its own generator, seeded by
// (seed, split, i) alone, so the result is the same for a seed whatever the order of the work.
// Every file is written into a temporary folder beside <out>, renamed to <out> at the end.
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputFileError, OutputError, ParameterError, RdlError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readImageStack, type StackData, writeImageStack } from '../io/stack.js';
import type { FrameOrder } from '../sim/params.js';
import { Rng } from '../sim/simulate/random.js';
import { type BadCell, type Cell, checkCell, type LevelKey, listCells, type PrepareTask } from './prepare-cells.js';
import {
  cropPlanes,
  DN_TRANSFORMS,
  FOREGROUND_LEVEL,
  foregroundFraction,
  foregroundThreshold,
  meanFrames,
  SR_TRANSFORMS,
  type Transform,
  transformCycle,
  transformPlanes,
} from './prepare-patches.js';

export interface PrepareJob {
  task: PrepareTask;
  acquisitions: string;
  outDir: string;
  /** Raw patch side, px (the sr target is twice this). */
  patch: number;
  /** Samples in all (train + val). */
  count: number;
  /** Fraction of the cells held out for validation (at least one cell). */
  valFraction: number;
  seed: number;
  levels: LevelKey[] | 'all';
  /** Fraction of a patch's target pixels that must be structure (0 keeps every patch). */
  minForeground: number;
  augment: boolean;
  /** dn: frame order of the cycles (the phase reordering of the 180° rotation needs it). */
  frameOrder: FrameOrder;
  /** Report bad cells and go on with the others (default: stop at the first). */
  skipBad: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SampleRecord {
  name: string;
  split: 'train' | 'val';
  cell: string;
  level: LevelKey;
  /** Top-left corner of the crop on the raw grid, px. */
  y: number;
  x: number;
  transform: Transform;
  input: string;
  target: string;
}

export interface CellSummary {
  cell: string;
  split: 'train' | 'val';
  /** Samples per level (key: level number or "gt"). */
  samples: Record<string, number>;
  /** Patch positions rejected as background. */
  rejected: number;
  /** Samples given up after MAX_TRIES rejected positions. */
  dropped: number;
  rawPixelUm: number | null;
  srPixelUm: number | null;
  width: number;
  height: number;
}

export interface PrepareSummary {
  task: PrepareTask;
  outDir: string;
  train: number;
  val: number;
  rejected: number;
  dropped: number;
  cells: CellSummary[];
  bad: BadCell[];
  /** Distinct pixel sizes found (µm, x) and the cells that have them; null: the file does not say. */
  pixelSizes: { raw: Record<string, string[]>; sr: Record<string, string[]> };
  rule: string;
}

/** Positions tried for one sample before it is given up. */
export const MAX_TRIES = 50;

/** The samples' generators: (seed, split, index) → a 32-bit seed (MurmurHash3's finalizer). */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(b, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
const SPLIT_SALT = { train: 0x7a11, val: 0x0fa1, cells: 0xce11 } as const;

export function validateJob(j: PrepareJob): void {
  if (j.task !== 'sr' && j.task !== 'dn') throw new ParameterError('task', 'sr | dn', j.task);
  if (!(Number.isInteger(j.patch) && j.patch >= 16))
    throw new ParameterError('--patch', 'an integer ≥ 16 (px)', j.patch);
  if (!(Number.isInteger(j.count) && j.count >= 2)) throw new ParameterError('--count', 'an integer ≥ 2', j.count);
  if (!(j.valFraction > 0 && j.valFraction < 1))
    throw new ParameterError('--val-fraction', 'a fraction in (0, 1) (training needs validation cells)', j.valFraction);
  if (!(Number.isInteger(j.seed) && j.seed >= 0)) throw new ParameterError('--seed', 'an integer ≥ 0', j.seed);
  if (!(j.minForeground >= 0 && j.minForeground < 1))
    throw new ParameterError('--min-foreground', 'a fraction in [0, 1)', j.minForeground);
  if (j.frameOrder !== 'orientation-major' && j.frameOrder !== 'phase-major')
    throw new ParameterError('--frame-order', 'orientation-major | phase-major', j.frameOrder);
}

/** Refuses an output that exists and is not an empty folder. */
function checkOutput(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new OutputError(`${out} exists and is not a folder; choose a new folder`);
  if (readdirSync(out).length > 0)
    throw new OutputError(`${out} is not empty; choose a new or empty folder (rdl prepare never mixes data sets)`);
}

/** The level key as written in names and summaries. */
export function levelName(l: LevelKey): string {
  return l === 'gt' ? 'gt' : `L${String(l).padStart(2, '0')}`;
}

function slug(cell: string): string {
  return cell.replace(/[^\w.-]+/g, '_').replace(/^\.+/, '') || 'cell';
}

/** A cell's data, read once: the inputs per level and the target, with the target's structure threshold. */
interface LoadedCell {
  inputs: Map<LevelKey, StackData>;
  target: StackData;
  /** The image the background rule looks at (sr: the target; dn: its widefield) and its threshold. */
  signal: ArrayLike<number>;
  signalWidth: number;
  threshold: number;
  rawPx: { x: number; y: number } | null;
  targetPx: { x: number; y: number } | null;
}

function load(c: Cell, task: PrepareTask): LoadedCell {
  const read = (file: string) => {
    const s = readImageStack(file);
    if (s.data instanceof Float32Array) {
      const i = s.data.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) {
        const plane = s.width * s.height;
        throw new InputFileError(
          file,
          `non-finite value ${s.data[i]} at frame ${Math.floor(i / plane)}, y ${Math.floor((i % plane) / s.width)}, x ${i % s.width}`,
        );
      }
    }
    return s;
  };
  const inputs = new Map<LevelKey, StackData>();
  let rawPx: { x: number; y: number } | null = null;
  for (const l of c.use) {
    const s = read(l === 'gt' ? (c.rawGt as string) : (c.levels.get(l) as string));
    inputs.set(l, s.data);
    rawPx ??= s.pixelSizeUm;
  }
  const t = read(task === 'sr' ? (c.srGt as string) : (c.rawGt as string));
  const signal = task === 'sr' ? t.data : meanFrames(t.data, c.width * c.height, 9);
  return {
    inputs,
    target: t.data,
    signal,
    signalWidth: t.width,
    threshold: foregroundThreshold(signal),
    rawPx,
    targetPx: t.pixelSizeUm,
  };
}

/** Runs the job; returns the summary (also in <out>/prepare.json). */
export function prepareDataset(job: PrepareJob): PrepareSummary {
  validateJob(job);
  const out = resolve(job.outDir);
  checkOutput(out);
  // 1. Find and check every cell before any work.
  const listing = listCells(job.acquisitions);
  const bad: BadCell[] = [...listing.bad];
  const cells: Cell[] = [];
  for (const c of listing.cells) {
    try {
      cells.push(checkCell(c, job.task, job.levels, job.patch));
    } catch (err) {
      if (!(err instanceof RdlError)) throw err;
      bad.push({ cell: c.name, file: (err as InputFileError).file ?? c.where, problem: err.message });
    }
  }
  if (bad.length > 0 && !job.skipBad) {
    throw new RdlError(
      `${bad.length} bad cell${bad.length > 1 ? 's' : ''}:\n${bad.map((b) => `  ${b.cell}: ${b.problem}`).join('\n')}\n(--skip-bad prepares the other cells and lists these in the summary)`,
    );
  }
  if (cells.length < 2)
    throw new InputFileError(
      job.acquisitions,
      `${cells.length} usable cell${cells.length === 1 ? '' : 's'}: at least 2 are needed (validation takes whole cells, apart from training)`,
    );
  // 2. The split, by cell: a seeded shuffle, the first ones to validation.
  const order = cells.map((_, i) => i);
  const rng = new Rng(mix(job.seed, SPLIT_SALT.cells));
  for (let i = order.length - 1; i > 0; i--) {
    const k = rng.int(0, i);
    [order[i], order[k]] = [order[k] as number, order[i] as number];
  }
  const nValCells = Math.min(cells.length - 1, Math.max(1, Math.round(cells.length * job.valFraction)));
  const valSet = new Set(order.slice(0, nValCells));
  const split: Record<'train' | 'val', Cell[]> = {
    train: cells.filter((_, i) => !valSet.has(i)),
    val: cells.filter((_, i) => valSet.has(i)),
  };
  const nVal = Math.max(1, Math.round(job.count * job.valFraction));
  const want = { train: job.count - nVal, val: nVal };
  // 3. The plan: sample i of a split → (cell, level), evenly over the cells, then over their levels.
  interface Planned {
    split: 'train' | 'val';
    index: number;
    cell: Cell;
    level: LevelKey;
  }
  const plan: Planned[] = [];
  for (const s of ['train', 'val'] as const) {
    const cs = split[s];
    for (let i = 0; i < want[s]; i++) {
      const cell = cs[i % cs.length] as Cell;
      plan.push({ split: s, index: i, cell, level: cell.use[Math.floor(i / cs.length) % cell.use.length] as LevelKey });
    }
  }
  const transforms = job.augment ? (job.task === 'sr' ? SR_TRANSFORMS : DN_TRANSFORMS) : (['id'] as const);
  const tmp = join(dirname(out), `.${basename(out)}.prepare-${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  const summaries = new Map<string, CellSummary>();
  const records: SampleRecord[] = [];
  try {
    try {
      for (const d of ['train', 'train_gt', 'val', 'val_gt']) mkdirSync(join(tmp, d), { recursive: true });
    } catch (err) {
      throw new OutputError(`cannot write beside ${out}: ${(err as Error).message}`);
    }
    // 4. Cell by cell (each read once), its planned samples.
    let done = 0;
    for (const cell of cells) {
      const mine = plan.filter((p) => p.cell === cell);
      const cs: CellSummary = {
        cell: cell.name,
        split: valSet.has(cells.indexOf(cell)) ? 'val' : 'train',
        samples: Object.fromEntries(cell.use.map((l) => [String(l), 0])),
        rejected: 0,
        dropped: 0,
        rawPixelUm: cell.rawPixelUm,
        srPixelUm: cell.srPixelUm,
        width: cell.width,
        height: cell.height,
      };
      summaries.set(cell.name, cs);
      if (mine.length === 0) continue;
      let data: LoadedCell;
      try {
        data = load(cell, job.task);
      } catch (err) {
        if (!(err instanceof RdlError) || !job.skipBad) throw err;
        bad.push({ cell: cell.name, file: (err as InputFileError).file ?? cell.where, problem: err.message });
        cs.dropped += mine.length;
        done += mine.length;
        continue;
      }
      for (const p of mine) {
        const r = new Rng(mix(mix(job.seed, SPLIT_SALT[p.split]), p.index));
        const rec = makeSample(job, cell, data, p.level, r, transforms, cs);
        done++;
        job.onProgress?.(done, plan.length);
        if (rec === null) {
          cs.dropped++;
          continue;
        }
        const name = `${slug(cell.name)}_${levelName(p.level)}_${p.index + 1}`;
        const input = join(p.split, `${name}.tif`);
        const target = join(`${p.split}_gt`, `${name}.tif`);
        const P = job.patch;
        const T = job.task === 'sr' ? 2 * P : P;
        writeImageStack(join(tmp, input), rec.input, { width: P, height: P, frames: 9 }, { pixelSizeUm: data.rawPx });
        writeImageStack(
          join(tmp, target),
          rec.target,
          { width: T, height: T, frames: job.task === 'sr' ? 1 : 9 },
          { pixelSizeUm: data.targetPx },
        );
        cs.samples[String(p.level)] = (cs.samples[String(p.level)] ?? 0) + 1;
        records.push({
          name,
          split: p.split,
          cell: cell.name,
          level: p.level,
          y: rec.y,
          x: rec.x,
          transform: rec.transform,
          input,
          target,
        });
      }
    }
    const count = (s: 'train' | 'val') => records.filter((r) => r.split === s).length;
    for (const s of ['train', 'val'] as const) {
      if (count(s) === 0)
        throw new RdlError(
          `no ${s} sample could be made: every patch position tried in the ${s} cells (${split[s].map((c) => c.name).join(', ')}) was background (fewer than ${job.minForeground} of its target pixels above the structure threshold); lower --min-foreground or check the cells`,
        );
    }
    const summary = summarize(job, out, [...summaries.values()], bad, count('train'), count('val'));
    const manifest = {
      rdl: 'prepare',
      task: job.task,
      acquisitions: resolve(job.acquisitions),
      options: {
        patch: job.patch,
        count: job.count,
        valFraction: job.valFraction,
        seed: job.seed,
        levels: job.levels,
        minForeground: job.minForeground,
        augment: job.augment,
        transforms,
        frameOrder: job.frameOrder,
      },
      summary,
      samples: records,
    };
    writeFileAtomic(join(tmp, 'prepare.json'), [new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`)]);
    // 5. Into place: a new folder, or over the empty one the user made.
    checkOutput(out);
    if (existsSync(out)) rmdirSync(out);
    renameSync(tmp, out);
    return summary;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One sample: a crop position that passes the background rule, a transform, the cut and transformed arrays. */
function makeSample(
  job: PrepareJob,
  cell: Cell,
  d: LoadedCell,
  level: LevelKey,
  r: Rng,
  transforms: readonly Transform[],
  cs: CellSummary,
): { input: StackData; target: StackData; y: number; x: number; transform: Transform } | null {
  const P = job.patch;
  const s = job.task === 'sr' ? 2 : 1;
  for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
    const y = r.int(0, cell.height - P);
    const x = r.int(0, cell.width - P);
    const transform = transforms[r.int(0, transforms.length - 1)] as Transform;
    const fg = foregroundFraction(d.signal, d.signalWidth, s * y, s * x, s * P, d.threshold);
    if (job.minForeground > 0 && fg < job.minForeground) {
      cs.rejected++;
      continue;
    }
    const input = cropPlanes(d.inputs.get(level) as StackData, cell.width, cell.height, 9, y, x, P);
    if (job.task === 'sr') {
      const target = cropPlanes(d.target, 2 * cell.width, 2 * cell.height, 1, 2 * y, 2 * x, 2 * P);
      return {
        input: transformPlanes(input, 9, P, transform),
        target: transformPlanes(target, 1, 2 * P, transform),
        y,
        x,
        transform,
      };
    }
    const target = cropPlanes(d.target, cell.width, cell.height, 9, y, x, P);
    return {
      input: transformCycle(input, P, transform, job.frameOrder),
      target: transformCycle(target, P, transform, job.frameOrder),
      y,
      x,
      transform,
    };
  }
  return null;
}

function summarize(
  job: PrepareJob,
  out: string,
  cells: CellSummary[],
  bad: BadCell[],
  train: number,
  val: number,
): PrepareSummary {
  const sizes = (pick: (c: CellSummary) => number | null) => {
    const m: Record<string, string[]> = {};
    for (const c of cells) {
      const v = pick(c);
      const key = v === null ? 'unknown' : String(Number(v.toPrecision(6)));
      if (!m[key]) m[key] = [];
      m[key].push(c.cell);
    }
    return m;
  };
  return {
    task: job.task,
    outDir: out,
    train,
    val,
    rejected: cells.reduce((n, c) => n + c.rejected, 0),
    dropped: cells.reduce((n, c) => n + c.dropped, 0),
    cells,
    bad,
    pixelSizes: { raw: sizes((c) => c.rawPixelUm), sr: job.task === 'sr' ? sizes((c) => c.srPixelUm) : {} },
    rule:
      job.minForeground > 0
        ? `a patch is kept when ≥ ${job.minForeground} of its target pixels (${job.task === 'sr' ? 'SIM_gt' : 'the widefield of RawSIMData_gt'}) exceed b + ${FOREGROUND_LEVEL}·(t − b), b and t the cell's 1st and 99.9th percentiles`
        : 'every patch kept (--min-foreground 0)',
  };
}

/** The summary as lines of text for the terminal. */
export function formatSummary(s: PrepareSummary): string {
  const levels = [...new Set(s.cells.flatMap((c) => Object.keys(c.samples)))].sort((a, b) =>
    a === 'gt' ? 1 : b === 'gt' ? -1 : Number(a) - Number(b),
  );
  const head = ['cell', 'split', ...levels.map((l) => levelName(l === 'gt' ? 'gt' : Number(l))), 'rejected', 'dropped'];
  const rows = s.cells.map((c) => [
    c.cell,
    c.split,
    ...levels.map((l) => (l in c.samples ? String(c.samples[l]) : '-')),
    String(c.rejected),
    String(c.dropped),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]) =>
    r.map((v, i) => (i < 2 ? v.padEnd(w[i] as number) : v.padStart(w[i] as number))).join('  ');
  const px = (m: Record<string, string[]>) =>
    Object.entries(m)
      .map(([v, cs]) => `${v === 'unknown' ? 'unknown' : `${v} µm`} (${cs.length} cell${cs.length > 1 ? 's' : ''})`)
      .join(', ');
  const out = [
    `rdl prepare ${s.task}: ${s.train} train + ${s.val} val samples in ${s.outDir}`,
    line(head),
    ...rows.map(line),
    `rejected patch positions: ${s.rejected} (${s.rule})${s.dropped ? `; samples given up after ${MAX_TRIES} rejected positions: ${s.dropped}` : ''}`,
    `pixel size: raw ${px(s.pixelSizes.raw)}${s.task === 'sr' ? `; SR target ${px(s.pixelSizes.sr)}` : ''}`,
  ];
  if (s.bad.length)
    out.push(
      `skipped ${s.bad.length} bad cell${s.bad.length > 1 ? 's' : ''}:`,
      ...s.bad.map((b) => `  ${b.cell}: ${b.problem}`),
    );
  return `${out.join('\n')}\n`;
}
