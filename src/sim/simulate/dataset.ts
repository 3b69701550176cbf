// src/sim/simulate/: the SIM data simulator (structures → true pattern → forward model → noise).
// Start reading here (the data sets on disk); sample.ts makes one sample, forward.ts is the physics.
//
// Writing simulated data sets to disk in the reference's layouts:
//   sr:  <root>/<name>/{train,val}/<i>.tif = noisy raw cycle (9 pages, uint16) and
//        <root>/<name>/{train,val}_gt/<i>.tif = the 2× SR ground truth (uint16, full range);
//   dn:  the same folders with the high-SNR raw cycle as ground truth;
//   mrc: <root>/<name>_<photons>ph.mrc time-lapses (cycles × 9 frames, uint16, offset 100), with
//        _gt.mrc (high-SNR raw cycle) and _sr_gt.tif beside them;
//   biosr: cells as the BioSR data set arranges them (biosr.ts), what `rdl prepare sr|dn` reads.
// Every sample's true illumination is written as JSON in the `rdl estimate --json` format
// ({train,val}_params/<i>.json, or <stem>_params.json), and <root>/sim_parameters.json holds the
// SIM parameters to pass to `rdl estimate --params` / `rdl reconstruct --params`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dispose, type Tensor } from '../../engine/index.js';
import { ParameterError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeImageStack } from '../../io/stack.js';
import type { SimParameters } from '../params.js';
import { writeBiosrCells } from './biosr.js';
import { type SampleSpec, simulateSample } from './sample.js';
import type { StructureKind } from './structures.js';

export type Layout = 'sr' | 'dn' | 'mrc' | 'biosr';
export const LAYOUTS: readonly Layout[] = ['sr', 'dn', 'mrc', 'biosr'];

export interface DatasetSpec {
  root: string;
  name: string;
  layout: Layout;
  structure: StructureKind;
  size: number;
  params: SimParameters;
  seed: number;
  /** Peak photon levels; samples cycle through them (mrc: one file per level). */
  photons: number[];
  gtPhotons?: number;
  readNoise?: number;
  /** Training and validation samples (sr, dn). */
  train?: number;
  val?: number;
  /** Cycles per time-lapse (mrc). */
  cycles?: number;
  /** Cells (biosr; default 4). */
  cells?: number;
  modulation?: number | [number, number];
  device?: string;
  onSample?: (done: number, total: number) => void;
}

/** Writes the data set; returns the files written. */
export function writeDataset(s: DatasetSpec): string[] {
  if (!LAYOUTS.includes(s.layout)) throw new ParameterError('layout', LAYOUTS.join(' | '), s.layout);
  if (s.photons.length === 0 || !s.photons.every((v) => v > 0))
    throw new ParameterError('photons', 'peak photon counts > 0', s.photons);
  if (s.layout === 'biosr') {
    return writeBiosrCells({
      ...s,
      cells: s.cells ?? 4,
      illumination: s.modulation === undefined ? {} : { modulation: s.modulation },
      onCell: s.onSample,
    });
  }
  mkdirSync(s.root, { recursive: true });
  const written: string[] = [];
  const json = (path: string, v: unknown) => {
    writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)]);
    written.push(path);
  };
  json(join(s.root, 'sim_parameters.json'), s.params);
  const spec = (seed: number, photons: number, cycles = 1): SampleSpec => ({
    structure: s.structure,
    height: s.size,
    width: s.size,
    params: s.params,
    seed,
    photons,
    gtPhotons: s.gtPhotons,
    readNoise: s.readNoise,
    cycles,
    illumination: s.modulation === undefined ? {} : { modulation: s.modulation },
    device: s.device,
  });
  const px = { x: s.params.pixelSizeUm, y: s.params.pixelSizeUm };
  const fine = { x: s.params.pixelSizeUm / 2, y: s.params.pixelSizeUm / 2 };
  const n = s.size;
  if (s.layout === 'mrc') {
    s.photons.forEach((ph, i) => {
      const smp = simulateSample(spec(s.seed + i, ph, s.cycles ?? 1));
      try {
        const stem = join(s.root, `${s.name}_${ph}ph`);
        const frames = smp.noisy.dim(0) * 9;
        writeImageStack(
          `${stem}.mrc`,
          toUint16(smp.noisy),
          { width: n, height: n, frames },
          { pixelSizeUm: { ...px, z: null } },
        );
        writeImageStack(
          `${stem}_gt.mrc`,
          toUint16(smp.target),
          { width: n, height: n, frames: 9 },
          { pixelSizeUm: { ...px, z: null } },
        );
        writeImageStack(
          `${stem}_sr_gt.tif`,
          srToUint16(smp.sr),
          { width: 2 * n, height: 2 * n, frames: 1 },
          { pixelSizeUm: fine },
        );
        written.push(`${stem}.mrc`, `${stem}_gt.mrc`, `${stem}_sr_gt.tif`);
        json(`${stem}_params.json`, smp.truth);
      } finally {
        dispose(smp);
      }
      s.onSample?.(i + 1, s.photons.length);
    });
    return written;
  }
  const train = s.train ?? 8;
  const val = s.val ?? 2;
  const total = train + val;
  const base = join(s.root, s.name);
  for (const dir of ['train', 'train_gt', 'val', 'val_gt', 'train_params', 'val_params'])
    mkdirSync(join(base, dir), { recursive: true });
  for (let i = 0; i < total; i++) {
    const split = i < train ? 'train' : 'val';
    const idx = i < train ? i + 1 : i - train + 1;
    const smp = simulateSample(spec(s.seed + 1000 * (i + 1), s.photons[i % s.photons.length]!));
    try {
      const input = join(base, split, `${idx}.tif`);
      const gt = join(base, `${split}_gt`, `${idx}.tif`);
      writeImageStack(input, toUint16(smp.noisy), { width: n, height: n, frames: 9 }, { pixelSizeUm: px });
      if (s.layout === 'sr') {
        writeImageStack(gt, srToUint16(smp.sr), { width: 2 * n, height: 2 * n, frames: 1 }, { pixelSizeUm: fine });
      } else {
        writeImageStack(gt, toUint16(smp.target), { width: n, height: n, frames: 9 }, { pixelSizeUm: px });
      }
      written.push(input, gt);
      json(join(base, `${split}_params`, `${idx}.json`), smp.truth);
    } finally {
      dispose(smp);
    }
    s.onSample?.(i + 1, total);
  }
  return written;
}

/** Counts already rounded and clipped to the uint16 range. */
function toUint16(t: Tensor): Uint16Array {
  return Uint16Array.from(t.toFloat32Array());
}

/** The SR ground truth (maximum 1) over the full uint16 range. */
function srToUint16(t: Tensor): Uint16Array {
  const v = t.toFloat32Array();
  return Uint16Array.from(v, (x) => Math.round(Math.min(1, Math.max(0, x)) * 65535));
}
