// Weight initialization as Keras does it by default (glorot_uniform kernels, zero biases), with
// reproducible seeds: a model built twice with the same seed has the same weights.
import { rand, type Tensor, tidy } from '../engine/index.js';

/** Hands out one seed per tensor, in construction order. */
export class SeedSequence {
  #next: number;
  constructor(seed: number = Math.floor(Math.random() * 2 ** 31)) {
    this.#next = seed;
  }
  next(): number {
    const s = this.#next;
    // A large odd stride keeps successive seeds far apart in the generator's seed space.
    this.#next = (this.#next + 0x9e3779b1) % 2 ** 31;
    return s;
  }
}

/**
 * Glorot (Xavier) uniform on [−l, l], l = √(6 / (fanIn + fanOut)) with fans counting the
 * kernel's receptive field, as Keras' default for Conv2D/Conv3D kernels.
 */
export function glorotUniform(shape: number[], fanIn: number, fanOut: number, seed: number): Tensor {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tidy(() =>
    rand(shape, { seed })
      .mul(2 * limit)
      .sub(limit),
  );
}
