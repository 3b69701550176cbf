// The trainer's bookkeeping with a scripted task: best weights follow validation NRMSE, not the
// last iteration; the log, checkpoint and report say the same.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSafetensors, rand } from '../../src/engine/index.js';
import { DFCAN, DFCAN_SMALL } from '../../src/models/dfcan.js';
import { COMMON_DEFAULTS } from '../../src/pipelines/train-common.js';
import { type TrainingTask, train } from '../../src/train/trainer.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('trainer');

test('best weights are those of the lowest validation NRMSE; latest those of the last iteration', async () => {
  const model = new DFCAN({ ...DFCAN_SMALL, groups: 1, blocks: 1 }, { seed: 3 });
  const nrmses = [0.5, 0.3, 0.4];
  let v = 0;
  const task: TrainingTask<number> = {
    plateauMonitor: 'val-nrmse',
    prepare: async (i) => i,
    loss: () => model.forward(rand([1, 9, 24, 24], { seed: 1 })).mean(),
    validate: async () => {
      const nrmse = nrmses[v++] as number;
      return { mse: nrmse ** 2, nrmse, psnr: 20 - nrmse, ssim: 1 - nrmse, panels: [] };
    },
    close: async () => {},
  };
  const dir = join(tmp.dir, 'run');
  const r = await train(
    {
      dir,
      model,
      options: { ...COMMON_DEFAULTS, batchSize: 1, patience: 10, iterations: 6, validateEvery: 2 },
      minLr: 1e-5,
      training: { test: true },
      resume: false,
      title: 'scripted',
    },
    task,
  );
  assert.equal(r.status, 'finished');
  assert.deepEqual(r.best, { iteration: 4, nrmse: 0.3 });
  const best = loadSafetensors(join(dir, 'weights.safetensors'));
  const latest = loadSafetensors(join(dir, 'latest.safetensors'));
  assert.equal(best.metadata.iteration, '4');
  assert.equal(latest.metadata.iteration, '6');
  const a = (best.tensors['head.weight'] ?? assert.fail('no head.weight')).toFloat32Array();
  const b = (latest.tensors['head.weight'] ?? assert.fail('no head.weight')).toFloat32Array();
  assert.notDeepEqual(a, b, 'weights moved between iteration 4 and 6');
  for (const t of [...Object.values(best.tensors), ...Object.values(latest.tensors)]) t.dispose();
  const log = readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(log.filter((e) => e.kind === 'train').length, 6);
  assert.deepEqual(
    log.filter((e) => e.kind === 'validation').map((e) => [e.iteration, e.best]),
    [
      [2, true],
      [4, true],
      [6, false],
    ],
  );
  const ckpt = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  assert.equal(ckpt.iteration, 6);
  assert.equal(ckpt.adamStep, 6);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /finished: 6 iterations/);
  model.dispose();
});
