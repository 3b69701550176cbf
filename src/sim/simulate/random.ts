// A small seeded generator for the simulator's geometry (structure positions, pattern draws):
// the same seed gives the same sample on every machine and device. Noise uses the engine's
// seeded Poisson/normal draws instead (vectorized).

/** mulberry32: 32-bit state, period 2³², plenty for placing a few thousand objects. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform on [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** A new 31-bit seed (for sub-generators and the engine's seeded draws). */
  seed(): number {
    return Math.floor(this.next() * 2147483647);
  }
}
