// Tensor work on the engine's background thread (native/async.cc): the caller submits a job,
// goes on with host work, and takes the result with wait(). Jobs run one at a time, in
// submission order, on one thread beside the JavaScript one: on a 2-core machine that is how the
// illumination fit's matrix products and its host-side preparation run at the same time.
import { type NativeJob, native } from './native.js';
import { Tensor } from './tensor.js';

/** A tensor being computed in the background. Take it once with wait(). */
export class PendingTensor {
  #job: NativeJob | null;

  constructor(job: NativeJob) {
    this.#job = job;
  }

  /** Blocks until the job has run; the tensor belongs to the caller's tidy() scope. Rethrows the job's error. */
  wait(): Tensor {
    if (this.#job === null) throw new Error('PendingTensor.wait() was already called');
    const job = this.#job;
    this.#job = null;
    return new Tensor(native().jobWait(job));
  }
}

/**
 * The matrix product t0·t1·…·tn computed in the background (libtorch picks the cheapest order,
 * as linalg.multi_dot). The inputs may be disposed once this returns: the job keeps its own
 * references to their data.
 */
export function multiDotAsync(tensors: readonly Tensor[]): PendingTensor {
  return new PendingTensor(native().multiDotStart(tensors.map((t) => t.handle)));
}

/**
 * Keeps the background thread awake (spinning while it has no job) for the next `ms`
 * milliseconds (0–1000), waking it now if it sleeps. Call it before host work that will be
 * followed by a run of background jobs: a job submitted while the thread sleeps runs on the
 * caller's thread instead (waking the thread can take milliseconds on a virtual machine), so
 * without this the first jobs of a run lose their overlap. The spinning holds one core meanwhile.
 */
export function keepBackgroundAwake(ms: number): void {
  native().keepAwake(ms);
}
