// Reduce-LR-on-plateau against a sequence worked out by hand from the reference's rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReduceLrOnPlateau } from '../../src/train/plateau.js';

test('the learning rate follows the reference ReduceLROnPlateau rules (patience, min delta, floor)', () => {
  const p = new ReduceLrOnPlateau({ factor: 0.5, patience: 2, minDelta: 0.01, cooldown: 0, minLr: 0.2 });
  // By hand: best 1.0 (improvement from ∞); 0.995 is not below 1.0 − 0.01 → wait 1; 0.999 → wait 2 =
  // patience → lr 1 → 0.5, wait 0; 0.98 < 0.99 → best 0.98; 0.975 → wait 1; 0.985 → wait 2 → 0.25;
  // 0.98 → wait 1; 0.99 → wait 2 → max(0.125, 0.2) = 0.2; then at the floor the rate stays.
  const seq = [1.0, 0.995, 0.999, 0.98, 0.975, 0.985, 0.98, 0.99, 0.99, 0.99, 0.5];
  const expected = [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2];
  let lr = 1;
  const got = seq.map((v) => {
    lr = p.step(v, lr);
    return lr;
  });
  assert.deepEqual(got, expected);
  assert.equal(p.state.best, 0.5, 'the improvement at the floor is still recorded');
});

test('cooldown suspends the wait after a reduction', () => {
  const p = new ReduceLrOnPlateau({ factor: 0.1, patience: 1, minDelta: 0, cooldown: 2, minLr: 0 });
  const lrs: number[] = [];
  let lr = 1;
  for (const v of [1, 2, 2, 2, 2]) {
    lr = p.step(v, lr);
    lrs.push(lr);
  }
  // 1: best; 2: wait 1 → 0.1, cooldown 2; 3rd: the counter drops to 1, still cooling; 4th: it
  // drops to 0 first (the reference decrements before it tests), so the wait counts → 0.01; 5th: cooling.
  assert.deepEqual(
    lrs.map((x) => Number(x.toPrecision(6))),
    [1, 0.1, 0.1, 0.01, 0.01],
  );
});
