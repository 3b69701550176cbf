// The sample reader's thread (see loader.ts): reads and decodes sample pairs from disk while the
// main thread runs the engine, and hands the float32 arrays over without copying.
import { parentPort } from 'node:worker_threads';
import type { SamplePair } from '../io/samples.js';
import { type LoadedPair, loadPair } from './dataset.js';

export interface LoadRequest {
  id: number;
  pairs: SamplePair[];
}
export type LoadReply = { id: number; loaded: LoadedPair[] } | { id: number; error: string };

parentPort?.on('message', (req: LoadRequest) => {
  try {
    const loaded = req.pairs.map(loadPair);
    const reply: LoadReply = { id: req.id, loaded };
    parentPort?.postMessage(
      reply,
      loaded.flatMap((l) => [l.input.buffer as ArrayBuffer, l.target.buffer as ArrayBuffer]),
    );
  } catch (err) {
    parentPort?.postMessage({ id: req.id, error: (err as Error).message } satisfies LoadReply);
  }
});
