// The rdl command as a user runs it: help, version, the engine check, exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ROOT, rdl } from '../helpers.js';

describe('rdl command line', () => {
  it('answers --version with the package version', () => {
    const r = rdl('--version');
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')).version);
  });
  it('answers --help listing the commands', () => {
    const r = rdl('--help');
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: rdl/);
    assert.match(r.stdout, /check/);
    assert.equal(rdl('check', '--help').status, 0);
  });
  it('runs the engine check', () => {
    const r = rdl('check', '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.match(out.engine.torchVersion, /^\d+\.\d+/);
    assert.ok(out.checks.length >= 2 && out.checks.every((c: { ok: boolean }) => c.ok));
  });
  it('honours --threads and rejects a bad value in one line', () => {
    assert.match(rdl('--threads', '1', 'check', '--json').stdout, /"threads": 1/);
    const bad = rdl('--threads', 'zero', 'check');
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim(), 'rdl: --threads: expected an integer ≥ 1, got "zero"');
  });
  it('runs OpenBLAS on one thread unless OPENBLAS_NUM_THREADS says otherwise', (t) => {
    const info = (env: NodeJS.ProcessEnv) =>
      JSON.parse(
        spawnSync(process.execPath, [`${ROOT}bin/rdl.js`, 'check', '--json'], { encoding: 'utf8', env }).stdout,
      ).engine;
    const { OPENBLAS_NUM_THREADS: _, ...clean } = process.env;
    const plain = info(clean);
    if (plain.openblasThreads === null) {
      t.skip('this libtorch does not use OpenBLAS');
      return;
    }
    assert.equal(plain.openblasThreads, 1);
    assert.equal(info({ ...clean, OPENBLAS_NUM_THREADS: '2' }).openblasThreads, 2);
  });
  it('fails on an unknown command', () => {
    const r = rdl('frobnicate');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });
});
