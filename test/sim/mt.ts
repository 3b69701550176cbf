// Shared loading of the real MT.mrc cycle and the measured 488 nm OTF for the sim tests.
import { readFileSync } from 'node:fs';
import { readMrc } from '../../src/io/mrc.js';
import type { RawStack } from '../../src/sim/frames.js';
import { type RadialOtf, readRadialOtf } from '../../src/sim/otf.js';
import { fixture, sharedFile } from '../helpers.js';

export const MT = sharedFile('rDL-SIM/Microtubules/MT.mrc');
export const OTF488 = sharedFile('otf/TIRF488_cam1_0_z30_OTF2d.mrc');
/** Skip reason for tests on the real data, or false. */
export const SKIP_REAL = MT.skip || OTF488.skip;

export function loadMt(): RawStack {
  const { header, data } = readMrc(MT.path);
  return { data, width: header.nx, height: header.ny, frames: header.nz };
}
export function loadOtf(): RadialOtf {
  return readRadialOtf(OTF488.path);
}

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
export const fitFixture: any = JSON.parse(readFileSync(fixture('sim/mt_reference_fit.json'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON
export const interFixture: any = JSON.parse(readFileSync(fixture('sim/mt_reference_intermediates.json'), 'utf8'));

/** Index of centred-grid row/col i in FFT order (ifftshift) for an even size n. */
export const toFft = (i: number, n: number) => (i + n / 2) % n;
