// Sample pairs for the training loop, read ahead: while the engine runs iteration i on the main
// thread, a worker thread reads and decodes the files of iteration i + 1 (TIFF/MRC decoding is
// JavaScript work that would otherwise sit between steps). Pairs already read are kept in memory
// up to a byte budget, so a small data set is read from disk once.
import { Worker } from 'node:worker_threads';
import { InputFileError } from '../errors.js';
import type { SamplePair } from '../io/samples.js';
import type { LoadedPair } from './dataset.js';
import type { LoadReply, LoadRequest } from './loader-worker.js';

/** Decoded pairs kept in memory (bytes); beyond it, pairs are read again when drawn. */
const CACHE_BYTES = 512 * 2 ** 20;

export class PairLoader {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (l: LoadedPair[]) => void; reject: (e: Error) => void }>();
  readonly #cache = new Map<string, LoadedPair>();
  #cacheBytes = 0;
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(new URL('./loader-worker.js', import.meta.url));
    this.#worker.on('message', (r: LoadReply) => {
      const p = this.#pending.get(r.id);
      if (p === undefined) return;
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if ('error' in r) p.reject(new InputFileError('training data', r.error));
      else p.resolve(r.loaded);
    });
    this.#worker.on('error', (e) => {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    });
    // The worker keeps the process alive only while a read is pending.
    this.#worker.unref();
  }

  /** Starts reading the pairs (in the background); the promise gives them in order. */
  load(pairs: readonly SamplePair[]): Promise<LoadedPair[]> {
    const missing = pairs.filter((p) => !this.#cache.has(p.input.path));
    const fromDisk =
      missing.length === 0
        ? Promise.resolve([] as LoadedPair[])
        : new Promise<LoadedPair[]>((resolve, reject) => {
            const id = this.#nextId++;
            this.#pending.set(id, { resolve, reject });
            this.#worker.ref();
            this.#worker.postMessage({ id, pairs: missing } satisfies LoadRequest);
          });
    return fromDisk.then((loaded) => {
      const fresh = new Map<string, LoadedPair>();
      missing.forEach((p, i) => {
        const l = loaded[i] as LoadedPair;
        fresh.set(p.input.path, l);
        const bytes = l.input.byteLength + l.target.byteLength;
        if (this.#cacheBytes + bytes <= CACHE_BYTES) {
          this.#cache.set(p.input.path, l);
          this.#cacheBytes += bytes;
        }
      });
      return pairs.map((p) => (this.#cache.get(p.input.path) ?? fresh.get(p.input.path)) as LoadedPair);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
