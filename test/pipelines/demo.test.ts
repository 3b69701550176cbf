// The built-in example: it runs end to end, its fit is right, SIM beats widefield, and it never
// writes into a folder that already holds something.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readImageStack } from '../../src/io/stack.js';
import { runDemo } from '../../src/pipelines/demo.js';
import { rdl } from '../helpers.js';

const root = mkdtempSync(join(tmpdir(), 'rdl-demo-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('rdl demo', () => {
  it('simulates, fits, reconstructs and scores (256², 300 photons)', () => {
    const out = join(root, 'run');
    const r = runDemo({ outDir: out, size: 256, photons: 300, seed: 2 });
    for (const e of r.estimationErrors) {
      assert.ok(e.angleMrad < 2, `angle error ${e.angleMrad} mrad`);
      assert.ok(e.spacingPercent < 0.3, `spacing error ${e.spacingPercent} %`);
      assert.ok(e.phaseDeg < 6, `phase error ${e.phaseDeg}°`);
      // The fit's own phase uncertainty at 300 photons (~0.3°): reported, and of the errors' size.
      assert.ok(e.phaseSdDeg !== null && e.phaseSdDeg > 0.05 && e.phaseSdDeg < 2, `σφ ${e.phaseSdDeg}°`);
    }
    assert.ok(
      r.wiener.psnrDb > r.widefield.psnrDb + 5,
      `Wiener ${r.wiener.psnrDb} dB vs widefield ${r.widefield.psnrDb} dB`,
    );
    assert.ok(r.wiener.resolutionNm < 0.7 * r.widefield.resolutionNm);
    for (const f of r.files) assert.ok(existsSync(f), f);
    const raw = readImageStack(join(out, 'raw_noisy.mrc'));
    assert.deepEqual([raw.width, raw.height, raw.frames, raw.dtype], [256, 256, 9, 'uint16']);
    const sr = readImageStack(join(out, 'wiener_sr.tif'));
    assert.deepEqual([sr.width, sr.height], [512, 512]);
    assert.ok(Math.abs((sr.pixelSizeUm?.x ?? 0) - 0.0313) < 1e-6);
  });
  it('refuses a folder that is not empty, naming it, and leaves it untouched', () => {
    const busy = join(root, 'busy');
    rmSync(busy, { recursive: true, force: true });
    const r0 = rdl('demo', '-o', busy, '--size', '64');
    assert.equal(r0.status, 0, r0.stderr);
    const mine = join(busy, 'mine.txt');
    writeFileSync(mine, 'keep');
    const r = rdl('demo', '-o', busy);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `rdl: ${busy} is not empty: choose a new or empty folder for the demo's outputs`);
    assert.ok(existsSync(mine));
  });
  it('rejects bad options in one line', () => {
    const r = rdl('demo', '-o', join(root, 'x'), '--size', '63');
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), 'rdl: --size: expected an even integer ≥ 64, got "63"');
  });
});
