// `rdl simulate --layout biosr`: simulated cells in the arrangement of the BioSR data set (the
// public data the reference was trained on), so that `rdl prepare sr|dn` and the training commands
// can be tried without a microscope:
//   <root>/<name>/Cell_NNN/RawSIMData_level_NN.mrc  one noisy raw cycle (9 frames, uint16) per
//                                                  light level, level 01 the dimmest;
//   <root>/<name>/Cell_NNN/RawSIMData_gt.mrc        the high-SNR raw cycle of the same scene;
//   <root>/<name>/Cell_NNN/SIM_gt.mrc               the SR target, 2× the raw grid (uint16, full range);
//   <root>/<name>/Cell_NNN/pattern.json             the cell's true illumination (`rdl estimate --json` form);
//   <root>/sim_parameters.json                      the SIM parameters (`--params` of estimate/train denoise).
// Every level of a cell sees the same scene and pattern, with its own noise.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dispose, type Tensor } from '../../engine/index.js';
import { ParameterError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeImageStack } from '../../io/stack.js';
import type { SimParameters } from '../params.js';
import { acquire } from './forward.js';
import { simulateSample } from './sample.js';
import type { StructureKind } from './structures.js';
import type { IlluminationDraw } from './truth.js';

export interface BiosrSpec {
  root: string;
  name: string;
  structure: StructureKind;
  /** Raw image size, pixels (SIM_gt is twice this). */
  size: number;
  params: SimParameters;
  seed: number;
  /** Peak photons of the noisy levels; written sorted, level 01 the dimmest. */
  photons: number[];
  gtPhotons?: number;
  readNoise?: number;
  cells: number;
  illumination?: IlluminationDraw;
  device?: string;
  onCell?: (done: number, total: number) => void;
}

/** The file names of one BioSR cell. */
export const BIOSR_LEVEL = (level: number) => `RawSIMData_level_${String(level).padStart(2, '0')}.mrc`;
export const BIOSR_RAW_GT = 'RawSIMData_gt.mrc';
export const BIOSR_SR_GT = 'SIM_gt.mrc';

/** Writes the cells; returns the files written. */
export function writeBiosrCells(s: BiosrSpec): string[] {
  if (!(Number.isInteger(s.cells) && s.cells >= 1)) throw new ParameterError('cells', 'an integer ≥ 1', s.cells);
  if (s.photons.length === 0 || !s.photons.every((v) => v > 0))
    throw new ParameterError('photons', 'peak photon counts > 0', s.photons);
  const levels = [...s.photons].sort((a, b) => a - b);
  mkdirSync(s.root, { recursive: true });
  const written: string[] = [];
  const json = (path: string, v: unknown) => {
    writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(v, null, 2)}\n`)]);
    written.push(path);
  };
  json(join(s.root, 'sim_parameters.json'), s.params);
  const n = s.size;
  const px = { x: s.params.pixelSizeUm, y: s.params.pixelSizeUm, z: null };
  const fine = { x: s.params.pixelSizeUm / 2, y: s.params.pixelSizeUm / 2, z: null };
  const raw = { width: n, height: n, frames: 9 };
  for (let c = 0; c < s.cells; c++) {
    const dir = join(s.root, s.name, `Cell_${String(c + 1).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    const seed = s.seed + 1000 * (c + 1);
    const smp = simulateSample({
      structure: s.structure,
      height: n,
      width: n,
      params: s.params,
      seed,
      photons: levels[0] as number,
      gtPhotons: s.gtPhotons,
      readNoise: s.readNoise,
      illumination: s.illumination ?? {},
      device: s.device,
    });
    try {
      const base = { readNoise: s.readNoise ?? 1.5, offset: s.params.backgroundCounts };
      levels.forEach((ph, i) => {
        // Seeds far from the sample's own (which drew the high-SNR cycle): each level its own noise.
        const noisy = acquire(smp.clean, { ...base, peakPhotons: ph, seed: 2 * (seed + 7919 * (i + 1)) });
        try {
          const path = join(dir, BIOSR_LEVEL(i + 1));
          writeImageStack(path, toUint16(noisy), raw, { pixelSizeUm: px });
          written.push(path);
        } finally {
          noisy.dispose();
        }
      });
      writeImageStack(join(dir, BIOSR_RAW_GT), toUint16(smp.target), raw, { pixelSizeUm: px });
      writeImageStack(
        join(dir, BIOSR_SR_GT),
        srToUint16(smp.sr),
        { width: 2 * n, height: 2 * n, frames: 1 },
        {
          pixelSizeUm: fine,
        },
      );
      written.push(join(dir, BIOSR_RAW_GT), join(dir, BIOSR_SR_GT));
      json(join(dir, 'pattern.json'), smp.truth);
    } finally {
      dispose(smp);
    }
    s.onCell?.(c + 1, s.cells);
  }
  return written;
}

function toUint16(t: Tensor): Uint16Array {
  return Uint16Array.from(t.toFloat32Array());
}

function srToUint16(t: Tensor): Uint16Array {
  return Uint16Array.from(t.toFloat32Array(), (x) => Math.round(Math.min(1, Math.max(0, x)) * 65535));
}
