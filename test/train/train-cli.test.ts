// `rdl train sr` and `rdl train denoise` as a user runs them, on tiny simulated data with the small
// presets: end to end, resume equivalence, Ctrl-C then resume, --init from a Keras .h5, a config
// file, and bad input (the error names the file, the exit is non-zero, no model folder is left).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSafetensors } from '../../src/engine/index.js';
import { DFCAN_SMALL } from '../../src/models/dfcan.js';
import { loadModel, loadModelFolder } from '../../src/models/folder.js';
import { assertClose, fixture, ROOT, rdl } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('train');
const SMALL = ['--preset', 'small', '--patch', '32', '--batch-size', '2', '--validate-num', '2'];

function simulate(layout: string, out: string, size = 64): void {
  const r = rdl(
    'simulate',
    '-o',
    out,
    '--layout',
    layout,
    '--size',
    String(size),
    '--train',
    '6',
    '--val',
    '2',
    '--photons',
    '30',
  );
  assert.equal(r.status, 0, r.stderr);
}
const srData = join(tmp.dir, 'sr');
const dnData = join(tmp.dir, 'dn');
simulate('sr', srData);
simulate('dn', dnData);
const params = join(srData, 'sim_parameters.json');

function ok(args: string[]): void {
  const r = rdl(...args);
  assert.equal(r.status, 0, `rdl ${args.join(' ')}\n${r.stderr}`);
}

function weights(path: string): Record<string, Float32Array> {
  const f = loadSafetensors(path);
  const out = Object.fromEntries(Object.entries(f.tensors).map(([k, t]) => [k, t.toFloat32Array()]));
  for (const t of Object.values(f.tensors)) t.dispose();
  return out;
}

function assertSameWeights(a: string, b: string, what: string): void {
  const wa = weights(a);
  const wb = weights(b);
  assert.deepEqual(Object.keys(wa).sort(), Object.keys(wb).sort());
  for (const k of Object.keys(wa))
    assertClose(wa[k] as Float32Array, wb[k] as Float32Array, 1e-5, 1e-4, `${what}: ${k}`);
}

const full = join(tmp.dir, 'sr-full');

test('rdl train sr: end to end, a model folder that rdl loads', () => {
  ok(['train', 'sr', srData, '-o', full, ...SMALL, '--iterations', '8', '--validate-every', '4']);
  for (const f of [
    'config.json',
    'weights.safetensors',
    'latest.safetensors',
    'checkpoint.json',
    'checkpoint.safetensors',
    'log.jsonl',
    'report.html',
    'samples/4.png',
    'samples/8.png',
  ]) {
    assert.ok(existsSync(join(full, f)), `${f} is missing`);
  }
  const config = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
  assert.equal(config.architecture, 'dfcan');
  assert.equal(config.training.options.iterations, 8);
  assert.match(config.training.normalization, /min–max/);
  const m = loadModelFolder(full);
  assert.equal(m.parameterCount(), config.parameters);
  m.dispose();
  const log = readFileSync(join(full, 'log.jsonl'), 'utf8').trim().split('\n');
  assert.equal(log.length, 8 + 2);
});

test('--resume continues to the same weights as an uninterrupted run', () => {
  const split = join(tmp.dir, 'sr-split');
  ok(['train', 'sr', srData, '-o', split, ...SMALL, '--iterations', '4', '--validate-every', '4']);
  ok(['train', 'sr', srData, '-o', split, '--resume', '--iterations', '8']);
  assertSameWeights(join(full, 'latest.safetensors'), join(split, 'latest.safetensors'), 'resumed vs uninterrupted');
  const ckpt = JSON.parse(readFileSync(join(split, 'checkpoint.json'), 'utf8'));
  assert.equal(ckpt.iteration, 8);
  assert.equal(ckpt.validation.length, 2);
  assert.equal(readFileSync(join(split, 'log.jsonl'), 'utf8').trim().split('\n').length, 10);
});

test('Ctrl-C saves a checkpoint and exits 130 naming --resume; resuming ends where an uninterrupted run does', async () => {
  const common = [...SMALL, '--iterations', '30', '--validate-every', '1000', '--seed', '5'];
  const whole = join(tmp.dir, 'sr-whole');
  ok(['train', 'sr', srData, '-o', whole, ...common]);
  const cut = join(tmp.dir, 'sr-cut');
  const child = spawn(process.execPath, [`${ROOT}bin/rdl.js`, 'train', 'sr', srData, '-o', cut, ...common], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  // Interrupt once a few iterations are logged.
  const log = join(cut, 'log.jsonl');
  const timer = setInterval(() => {
    if (existsSync(log) && readFileSync(log, 'utf8').split('\n').length > 3) {
      clearInterval(timer);
      child.kill('SIGINT');
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(timer);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /--resume/);
  const at = JSON.parse(readFileSync(join(cut, 'checkpoint.json'), 'utf8')).iteration;
  assert.ok(at >= 3 && at < 30, `interrupted at iteration ${at}`);
  ok(['train', 'sr', srData, '-o', cut, '--resume', '--iterations', '30']);
  assertSameWeights(join(whole, 'latest.safetensors'), join(cut, 'latest.safetensors'), 'after Ctrl-C and resume');
});

test('--init starts from the reference Keras .h5 weights', async () => {
  const dir = join(tmp.dir, 'sr-init');
  // A learning rate too small to move the weights: the saved weights are the imported ones.
  ok([
    'train',
    'sr',
    srData,
    '-o',
    dir,
    ...SMALL,
    '--iterations',
    '1',
    '--lr',
    '1e-20',
    '--init',
    fixture('models/dfcan.h5'),
  ]);
  const ref = await loadModel(fixture('models/dfcan.h5'), { architecture: 'dfcan', config: DFCAN_SMALL });
  const saved = weights(join(dir, 'latest.safetensors'));
  for (const [k, t] of Object.entries(ref.stateDict()))
    assertClose(saved[k] as Float32Array, t.toFloat32Array(), 1e-6, 0, k);
  ref.dispose();
});

test('a YAML config file sets the options; flags override it; a bad field is named', () => {
  const dir = join(tmp.dir, 'sr-config');
  const cfg = join(tmp.dir, 'train.yaml');
  writeFileSync(cfg, 'iterations: 5\nvalidateEvery: 2\npreset: small\npatch: 32\nbatchSize: 1\nvalidateNum: 1\n');
  ok(['train', 'sr', srData, '-o', dir, '--config', cfg, '--iterations', '3']);
  const ckpt = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  assert.equal(ckpt.iteration, 3);
  assert.equal(ckpt.options.validateEvery, 2);
  writeFileSync(cfg, 'iterations: 5\nbatchsize: 2\n');
  const bad = rdl('train', 'sr', srData, '-o', join(tmp.dir, 'never'), '--config', cfg);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /train\.yaml: unknown field batchsize/);
  writeFileSync(cfg, 'iterations: -5\n');
  const neg = rdl('train', 'sr', srData, '-o', join(tmp.dir, 'never'), '--config', cfg);
  assert.match(neg.stderr, /train\.yaml: field iterations/);
  assert.ok(!existsSync(join(tmp.dir, 'never')));
});

test('rdl train denoise: end to end with the SR model of rdl train sr (and the NSM variant)', () => {
  const dir = join(tmp.dir, 'dn-model');
  const args = ['train', 'denoise', dnData, '--sr-model', full, '--params', params, ...SMALL, '--batch-size', '1'];
  ok([...args, '-o', dir, '--iterations', '4', '--validate-every', '2']);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(config.architecture, 'rdl-denoiser');
  assert.equal(config.config.nsm, null);
  assert.equal(config.training.srModel, full);
  assert.equal(config.training.simParameters.lineSpacingUm, JSON.parse(readFileSync(params, 'utf8')).lineSpacingUm);
  assert.ok(existsSync(join(dir, 'samples/4.png')));
  const nsm = join(tmp.dir, 'dn-nsm');
  ok([...args, '-o', nsm, '--iterations', '1', '--nsm']);
  const c2 = JSON.parse(readFileSync(join(nsm, 'config.json'), 'utf8'));
  assert.equal(c2.config.nsm.pixelSizeUm, 0.0626);
});

test('bad input is reported naming the file, exits non-zero and leaves no model folder', () => {
  const broken = (name: string, edit: (root: string) => void): string => {
    const root = join(tmp.dir, `bad-${name}`);
    cpSync(join(srData, 'microtubules'), root, { recursive: true });
    edit(root);
    return root;
  };
  const smaller = join(tmp.dir, 'sr48');
  simulate('sr', smaller, 48);
  const cases: Array<[string, string, RegExp, string[]?]> = [
    ['no val_gt', broken('noval', (r) => rmSync(join(r, 'val_gt'), { recursive: true })), /val_gt\/ missing/],
    ['unpaired', broken('unpaired', (r) => rmSync(join(r, 'train_gt', '3.tif'))), /no ground truth in train_gt for 3/],
    [
      'frame count',
      broken('frames', (r) => cpSync(join(r, 'train_gt', '2.tif'), join(r, 'train', '2.tif'))),
      /train\/2\.tif: 1 frames, expected 9/,
    ],
    [
      'size',
      broken('size', (r) => cpSync(join(smaller, 'microtubules', 'train_gt', '2.tif'), join(r, 'train_gt', '2.tif'))),
      /train_gt\/2\.tif: 96×96 px, expected 128×128/,
    ],
    ['SR model of the wrong kind', dnData, /holds a dfcan|expected dfcan/, ['--sr-model-is-denoiser']],
  ];
  for (const [what, data, message, extra] of cases) {
    const out = join(tmp.dir, `out-${what.replace(/ /g, '-')}`);
    const r =
      extra === undefined
        ? rdl('train', 'sr', data, '-o', out, ...SMALL)
        : rdl(
            'train',
            'denoise',
            data,
            '--sr-model',
            join(tmp.dir, 'dn-model'),
            '--params',
            params,
            '-o',
            out,
            ...SMALL,
          );
    assert.notEqual(r.status, 0, what);
    assert.match(r.stderr, message, what);
    // One error line; the only other line a command may print first says which pixel size it used.
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !/: pixel size /.test(l));
    assert.equal(lines.length, 1, `${what}: one line, no stack trace:\n${r.stderr}`);
    assert.ok(!existsSync(out), `${what}: a model folder was left behind`);
  }
  mkdirSync(join(tmp.dir, 'taken'));
  writeFileSync(join(tmp.dir, 'taken', 'notes.txt'), 'mine');
  const taken = rdl('train', 'sr', srData, '-o', join(tmp.dir, 'taken'), ...SMALL);
  assert.notEqual(taken.status, 0);
  assert.match(taken.stderr, /taken: the model folder is not empty: pass --resume/);
  assert.equal(readFileSync(join(tmp.dir, 'taken', 'notes.txt'), 'utf8'), 'mine');
  const none = rdl('train', 'sr', srData, '-o', join(tmp.dir, 'fresh'), '--resume');
  assert.match(none.stderr, /fresh: --resume: no checkpoint\.json/);
});
