import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParameterError } from '../../src/errors.js';
import { expectedSpacingUm, frameIndex, preset, resolveParameters } from '../../src/sim/params.js';

test('presets carry the reference values (Parameters_2DSIM.py)', () => {
  const p = preset('setup0');
  assert.deepEqual(p.startAnglesRad, [1.48, 2.5272, 3.5744]);
  assert.deepEqual(preset('setup1').startAnglesRad, [-1.66, -0.6128, 0.4344]);
  assert.deepEqual(preset('setup2').startAnglesRad, [1.5708, 2.618, 3.6652]);
  assert.equal(p.pixelSizeUm, 0.0626);
  assert.equal(p.apodizationPx, 10);
  assert.ok(Math.abs(expectedSpacingUm(p) - 0.18074074074074073) < 1e-15);
  // A preset is a fresh copy: changing it leaves the next one alone.
  p.startAnglesRad[0] = 0;
  assert.equal(preset('setup0').startAnglesRad[0], 1.48);
});

test('overrides apply and validation names the bad field', () => {
  const p = resolveParameters(preset('setup0'), { pixelSizeUm: 0.05, excitationWavelengthNm: 561 });
  assert.equal(p.pixelSizeUm, 0.05);
  assert.ok(Math.abs(expectedSpacingUm(p) - 0.561 / 1.35 / 2) < 1e-15);
  assert.throws(
    () => resolveParameters(preset(), { pixelSizeUm: -1 }, 'p.json'),
    (e: unknown) => {
      assert.ok(e instanceof ParameterError);
      assert.equal(e.parameter, 'p.json.pixelSizeUm');
      return true;
    },
  );
  assert.throws(() => resolveParameters(preset(), { pixelSize: 1 }), /parameters\.pixelSize/);
  assert.throws(
    () => resolveParameters(preset(), { startAnglesRad: [1, 2] }),
    /startAnglesRad.*one angle per orientation/,
  );
  assert.throws(() => resolveParameters(preset(), { phases: 2 }), /phases/);
  assert.throws(() => preset('setup9' as 'setup0'), /preset/);
});

test('frame order is explicit', () => {
  const om = preset();
  assert.equal(frameIndex(om, 1, 2), 5);
  const pm = resolveParameters(preset(), { frameOrder: 'phase-major' });
  assert.equal(frameIndex(pm, 1, 2), 7);
});
