// Raw SIM stacks: validation, cycles, frame order, and the [orientation, phase, y, x] tensor the
// rest of src/sim works on.
import { type Device, type DType, type Tensor, tensor, tidy } from '../engine/index.js';
import { ParameterError, ShapeError } from '../errors.js';
import { firstNonFinite } from '../io/binary.js';
import { frameIndex, type SimParameters } from './params.js';

export type StackData =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** A raw stack, frames row-major [frame][y][x] (x fastest). */
export interface RawStack {
  data: StackData;
  width: number;
  height: number;
  frames: number;
}

/** Number of complete cycles; throws when the frame count is not a multiple of orientations × phases. */
export function cycleCount(stack: RawStack, p: SimParameters): number {
  const perCycle = p.orientations * p.phases;
  if (stack.data.length !== stack.width * stack.height * stack.frames) {
    throw new ShapeError(
      `a stack of ${stack.frames} frames of ${stack.height}×${stack.width} needs ${stack.width * stack.height * stack.frames} values, found ${stack.data.length}`,
    );
  }
  if (stack.frames === 0 || stack.frames % perCycle !== 0) {
    throw new ShapeError(
      `the stack has ${stack.frames} frames, not a multiple of ${p.orientations} orientations × ${p.phases} phases = ${perCycle}`,
    );
  }
  return stack.frames / perCycle;
}

/** Throws a ShapeError naming the first non-finite value of float data (integer data cannot hold one). */
export function requireFiniteStack(stack: RawStack, what = 'the raw data'): void {
  const i = firstNonFinite(stack.data);
  if (i < 0) return;
  const plane = stack.width * stack.height;
  const z = Math.floor(i / plane);
  const y = Math.floor((i % plane) / stack.width);
  throw new ShapeError(
    `${what} holds a non-finite value (${stack.data[i]}) at frame ${z}, y ${y}, x ${i % stack.width}`,
  );
}

export interface CycleOptions {
  /** First cycle (0-based). */
  start?: number;
  /** Cycles averaged together (the reference's num_average). */
  count?: number;
  device?: Device;
  dtype?: DType;
}

/**
 * The mean of `count` consecutive cycles from `start` as a tensor [orientations, phases, y, x]
 * (raw values, no background subtraction, as the reference's fit).
 */
export function cycleTensor(stack: RawStack, p: SimParameters, o: CycleOptions = {}): Tensor {
  const cycles = cycleCount(stack, p);
  const start = o.start ?? 0;
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new ParameterError('cycles to average', 'an integer ≥ 1', count);
  if (!Number.isInteger(start) || start < 0 || start + count > cycles) {
    throw new ParameterError(
      'cycle',
      `cycles within 0…${cycles - 1} (the stack has ${cycles})`,
      `${start}…${start + count - 1}`,
    );
  }
  const perCycle = p.orientations * p.phases;
  const plane = stack.width * stack.height;
  const slab = stack.data.subarray(start * perCycle * plane, (start + count) * perCycle * plane);
  requireFiniteStack({ ...stack, data: slab, frames: count * perCycle });
  const dtype = o.dtype ?? 'float32';
  return tidy(() => {
    // A mean goes through float64 (integer data exactly), so it is exact before any rounding to
    // dtype; a single cycle is converted once, straight to dtype (the same values: one rounding either way).
    const t = tensor(slab, [count, perCycle, stack.height, stack.width], {
      dtype: count === 1 ? dtype : 'float64',
      device: o.device,
    });
    const mean = count === 1 ? t.select(0, 0) : t.mean(0);
    const order: number[] = [];
    for (let d = 0; d < p.orientations; d++) for (let j = 0; j < p.phases; j++) order.push(frameIndex(p, d, j));
    const isIdentity = order.every((v, i) => v === i);
    const ordered = isIdentity
      ? mean
      : mean.indexSelect(0, tensor(Int32Array.from(order), [perCycle], { dtype: 'int64', device: o.device }));
    return ordered.reshape([p.orientations, p.phases, stack.height, stack.width]).to(dtype);
  });
}
