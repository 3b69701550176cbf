import type { Benchmark } from '../harness.js';
import { engineBenchmarks } from './engine.js';
import { modelBenchmarks } from './models.js';

/** Every benchmark suite; each area adds its own file. */
export const suites: Benchmark[][] = [engineBenchmarks, modelBenchmarks];
