import type { Benchmark } from '../harness.js';
import { engineBenchmarks } from './engine.js';
import { ioBenchmarks } from './io.js';
import { modelBenchmarks } from './models.js';
import { pipelineBenchmarks } from './pipeline.js';
import { reconBenchmarks } from './recon.js';
import { simBenchmarks } from './sim.js';
import { trainBenchmarks } from './train.js';
import { trainVolumeBenchmarks } from './train-volume.js';

/** Every benchmark suite; each area adds its own file. */
export const suites: Benchmark[][] = [
  engineBenchmarks,
  ioBenchmarks,
  simBenchmarks,
  reconBenchmarks,
  modelBenchmarks,
  trainBenchmarks,
  trainVolumeBenchmarks,
  pipelineBenchmarks,
];
