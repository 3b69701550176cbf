// The trainer's randomness on the host (which samples, where the patches are cut): a generator
// derived from (seed, iteration) alone, so that iteration i draws the same batch whether the run
// was resumed or not, and the checkpoint needs no generator state beyond the seed.

/** A 32-bit mix of two integers (the finalizer of MurmurHash3 over their combination). */
function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(b, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: uniform numbers in [0, 1) from a 32-bit state. */
export class Rng {
  #s: number;
  constructor(seed: number, stream = 0) {
    this.#s = mix(seed >>> 0, stream >>> 0);
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** The generator of one training iteration (1-based). */
export function iterationRng(seed: number, iteration: number): Rng {
  return new Rng(seed, iteration);
}
