import type { Command } from 'commander';
import { registerCheck } from './check.js';
import { registerEstimate } from './estimate.js';
import { registerInfo } from './info.js';
import { registerMetrics } from './metrics.js';
import { registerReconstruct } from './reconstruct.js';
import { registerSimulate } from './simulate.js';

/** Every command of the CLI; each file adds one. */
export const commands: Array<(program: Command) => void> = [
  registerCheck,
  registerEstimate,
  registerInfo,
  registerReconstruct,
  registerSimulate,
  registerMetrics,
];
