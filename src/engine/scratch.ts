// Host arrays reused across calls. A hot loop that builds a few hundred kB of input per call (or
// reads as much back) would otherwise hand V8 that much garbage each time; in a process that also
// runs libtorch's worker threads, the collections it triggers cost far more than the copies.

type Ctor<T> = { new (length: number): T };

/** One growable typed array: view(n) is its first n elements (valid until the next view()). */
export class Scratch<T extends Float32Array | Float64Array | Int32Array> {
  readonly #ctor: Ctor<T>;
  #buffer: T;

  constructor(ctor: Ctor<T>) {
    this.#ctor = ctor;
    this.#buffer = new ctor(0);
  }

  /** The first n elements (whatever they held). Grows by half again so sizes that creep up reallocate rarely. */
  view(n: number): T {
    if (this.#buffer.length < n) this.#buffer = new this.#ctor(Math.ceil(n * 1.5));
    return this.#buffer.subarray(0, n) as T;
  }

  /**
   * Lets go of the buffer when it holds more than maxElements (default 4 Mi elements: a 256² job's
   * buffers stay, a 2048² job's go), so one large job does not pin its memory; true when it did
   * (earlier views then no longer share the buffer).
   */
  trim(maxElements = 4 << 20): boolean {
    if (this.#buffer.length <= maxElements) return false;
    this.#buffer = new this.#ctor(0);
    return true;
  }
}
