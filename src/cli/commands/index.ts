import type { Command } from 'commander';
import { registerCheck } from './check.js';
import { registerInfo } from './info.js';
import { registerModels } from './models.js';
import { registerPredict } from './predict.js';

/** Every command of the CLI; each file adds one. */
export const commands: Array<(program: Command) => void> = [
  registerCheck,
  registerInfo,
  registerModels,
  registerPredict,
];
