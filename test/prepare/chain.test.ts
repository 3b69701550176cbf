// The whole chain as a user runs it, without a microscope: `rdl simulate --layout biosr` writes
// cells in the BioSR arrangement, `rdl prepare sr|dn` turns them into training data, and
// `rdl train sr` / `rdl train denoise` train on it (tiny sizes and the small networks).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rdl } from '../helpers.js';
import { tempDir } from '../io/tmp.js';

const tmp = tempDir('prepare-chain');
const at = (p: string) => join(tmp.dir, p);

function ok(...args: string[]): string {
  const r = rdl(...args);
  assert.equal(r.status, 0, `rdl ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

test('simulate --layout biosr → prepare sr|dn → train sr → train denoise', () => {
  ok('simulate', '-o', at('acq'), '--layout', 'biosr', '--size', '64', '--cells', '3', '--photons', '20,60');
  const cell = at('acq/microtubules/Cell_001');
  assert.deepEqual(readdirSync(cell).sort(), [
    'RawSIMData_gt.mrc',
    'RawSIMData_level_01.mrc',
    'RawSIMData_level_02.mrc',
    'SIM_gt.mrc',
    'pattern.json',
  ]);
  assert.ok(existsSync(at('acq/sim_parameters.json')));

  const sr = ok(
    'prepare',
    'sr',
    at('acq'),
    '-o',
    at('sr-data'),
    '--patch',
    '32',
    '--count',
    '12',
    '--val-fraction',
    '0.3',
  );
  assert.match(sr, /rdl prepare sr: 8 train \+ 4 val samples/);
  assert.match(sr, /microtubules\/Cell_00\d +(train|val) +\d+ +\d+ +\d+ +0/);
  assert.match(sr, /rejected patch positions: \d+ \(a patch is kept when/);
  assert.match(sr, /pixel size: raw 0\.0626 µm \(3 cells\); SR target 0\.0313 µm \(3 cells\)/);
  const dn = ok(
    'prepare',
    'dn',
    at('acq'),
    '-o',
    at('dn-data'),
    '--patch',
    '48',
    '--count',
    '6',
    '--val-fraction',
    '0.3',
    '--json',
  );
  const summary = JSON.parse(dn);
  assert.equal(summary.train + summary.val, 6);
  assert.equal(JSON.parse(readFileSync(at('dn-data/prepare.json'), 'utf8')).task, 'dn');

  const small = [
    '--preset',
    'small',
    '--patch',
    '32',
    '--iterations',
    '2',
    '--validate-every',
    '2',
    '--validate-num',
    '2',
  ];
  ok('train', 'sr', at('sr-data'), '-o', at('sr-model'), '--batch-size', '2', ...small);
  assert.ok(existsSync(at('sr-model/weights.safetensors')));
  ok(
    'train',
    'denoise',
    at('dn-data'),
    '--sr-model',
    at('sr-model'),
    '--params',
    at('acq/sim_parameters.json'),
    '-o',
    at('dn-model'),
    ...small,
  );
  assert.ok(existsSync(at('dn-model/weights.safetensors')));
  const log = readFileSync(at('dn-model/log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.some((e) => e.kind === 'validation' && Number.isFinite(e.nrmse)));
});

test('prepare --help and a refused output', () => {
  for (const t of ['sr', 'dn']) {
    const h = ok('prepare', t, '--help');
    for (const o of ['--patch', '--count', '--val-fraction', '--seed', '--levels', '--min-foreground', '--skip-bad'])
      assert.ok(h.includes(o), `${t} --help lacks ${o}`);
  }
  const r = rdl('prepare', 'sr', at('nowhere'), '-o', at('x'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nowhere: no such file or folder/);
});
