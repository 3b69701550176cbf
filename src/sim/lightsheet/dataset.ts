// Writes a simulated light-sheet data set: noisy.tif (uint16 counts, the acquisition) and clean.tif
// (float32 expected photons, the truth) side by side, ImageJ hyperstacks [t][z][y][x] (slices Z,
// frames T), plus truth.json with the simulation's settings. Pixel 92.6 nm lateral, 200 nm axial.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeTiff } from '../../io/tiff.js';
import { LIGHTSHEET_DEFAULTS, type LightsheetOptions, simulateLightsheet } from './volume.js';

export const NOISY_FILE = 'noisy.tif';
export const CLEAN_FILE = 'clean.tif';
const PIXEL_UM = { x: 0.0926, y: 0.0926, z: 0.2 };

export function writeLightsheetDataset(root: string, opts: Partial<LightsheetOptions> = {}): string[] {
  const o = { ...LIGHTSHEET_DEFAULTS, ...opts };
  const { noisy, clean } = simulateLightsheet(o);
  mkdirSync(root, { recursive: true });
  const dims = { width: o.width, height: o.height, pages: o.depth * o.frames };
  const axes = { slices: o.depth, frames: o.frames };
  const files = [join(root, NOISY_FILE), join(root, CLEAN_FILE), join(root, 'truth.json')];
  writeTiff(files[0]!, noisy, dims, { axes, pixelSizeUm: PIXEL_UM });
  writeTiff(files[1]!, clean, dims, { axes, pixelSizeUm: PIXEL_UM });
  const truth = { simulator: 'rdl lightsheet', ...o, pixelSizeUm: PIXEL_UM, clean: 'expected photons, no offset' };
  writeFileAtomic(files[2]!, [Buffer.from(`${JSON.stringify(truth, null, 2)}\n`)]);
  return files;
}
