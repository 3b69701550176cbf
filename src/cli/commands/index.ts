import type { Command } from 'commander';
import { registerCheck } from './check.js';
import { registerDemo } from './demo.js';
import { registerEstimate } from './estimate.js';
import { registerInfo } from './info.js';
import { registerMetrics } from './metrics.js';
import { registerModels } from './models.js';
import { registerPredict } from './predict.js';
import { registerPredictVolume } from './predict-volume.js';
import { registerPrepare } from './prepare.js';
import { registerReconstruct } from './reconstruct.js';
import { registerSimulate } from './simulate.js';
import { registerSimulateLightsheet } from './simulate-lightsheet.js';
import { registerTrain } from './train.js';
import { registerTrainVolume } from './train-volume.js';

/** Every command of the CLI; each file adds one. */
export const commands: Array<(program: Command) => void> = [
  registerDemo,
  registerCheck,
  registerInfo,
  registerEstimate,
  registerReconstruct,
  registerSimulate,
  registerPrepare,
  registerMetrics,
  registerModels,
  registerPredict,
  registerTrain,
  // After registerTrain and registerPredict: they add subcommands to those.
  registerTrainVolume,
  registerPredictVolume,
  registerSimulateLightsheet,
];
