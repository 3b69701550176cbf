import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fitFixture, MT, MT_TOL, OTF488, SKIP_REAL } from './mt.js';

const rdl = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/rdl.js', 'estimate', ...args], { encoding: 'utf8' });

test('rdl estimate (robust by default) reports reliability per orientation', { skip: SKIP_REAL }, () => {
  const r = rdl(MT.path, '--otf', OTF488.path, '--json');
  assert.equal(r.status, 0, r.stderr);
  // Only the pixel size it used (MT.mrc's own), no warnings.
  assert.equal(r.stderr.replace(/^rdl estimate: pixel size [\d.]+ µm \(from .*\)\n/, ''), '');
  const out = JSON.parse(r.stdout);
  out.orientations.forEach((o: { angleRad: number; reliability: Record<string, unknown> }, d: number) => {
    const ref = fitFixture.orientations[d].rdl;
    assert.ok(Math.abs(o.angleRad - Math.atan2(ref.ky, ref.kx)) < (MT_TOL[d]?.angleRad ?? 0));
    assert.equal(o.reliability.reliable, true);
    assert.ok((o.reliability.peakRatio as number) > 1.25);
    assert.ok((o.reliability.modulation as number) > 0.02);
    // The phase's standard error (MT.mrc: ~9°, 7°, 3°), under the 10° warning.
    const sd = o.reliability.phaseSdRad as number;
    assert.ok(sd > 0.02 && sd < 0.17, `orientation ${d}: σφ ${sd}`);
    assert.deepEqual(o.reliability.warnings, []);
  });
  // A window too narrow to hold the pattern (±0.4% in |k0|, ±2 mrad): flagged on stderr.
  const narrow = rdl(MT.path, '--otf', OTF488.path, '--json', '--search-spacing', '0.004', '--search-angle', '0.002');
  assert.equal(narrow.status, 0, narrow.stderr);
  assert.match(
    narrow.stderr,
    /orientation 0: unreliable fit: the best pattern vector lies on the edge of the search window/,
  );
  // The table shows it beside the phase.
  const table = rdl(MT.path, '--otf', OTF488.path);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /phase rad {6}± rad/);
  const row0 = (table.stdout.split('\n').find((l) => /^ +0 /.test(l)) ?? '').trim().split(/ +/);
  assert.ok(Math.abs(Number(row0[7]) - out.orientations[0].reliability.phaseSdRad) < 1e-3, row0.join(' '));
  const bad = rdl(MT.path, '--otf', OTF488.path, '--fit', 'fast');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--fit: expected robust \| reference/);
});
