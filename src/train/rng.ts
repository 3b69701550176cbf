// The trainer's randomness on the host (which samples, where the patches are cut): the simulator's
// generator, seeded from (seed, iteration) alone, so that iteration i draws the same batch whether
// the run was resumed or not, and the checkpoint needs no generator state beyond the seed.
import { Rng } from '../sim/simulate/random.js';

export type { Rng };

/** A 32-bit mix of two integers (MurmurHash3's finalizer over their combination). */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(b, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** The generator of one training iteration (1-based). */
export function iterationRng(seed: number, iteration: number): Rng {
  return new Rng(mix(seed >>> 0, iteration >>> 0));
}
