// Background jobs (engine/async.ts, native/async.cc): the same numbers as on the calling thread,
// inputs that may be let go at once, errors handed to wait(), and one wait per job; and
// keepBackgroundAwake; and withNumThreads, which the reference fit runs its background work under.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  getNumThreads,
  keepBackgroundAwake,
  memory,
  multiDotAsync,
  rand,
  tensor,
  tidy,
  withNumThreads,
} from '../../src/engine/index.js';
import { DEVICE, values } from '../helpers.js';

const dev = { device: DEVICE };

describe('background products (multiDotAsync)', () => {
  it('equals the product computed here, complex and real, for chains of two to four', () =>
    tidy(() => {
      const a = rand([5, 7, 2], { ...dev, seed: 1 }).viewAsComplex();
      const b = rand([7, 6, 2], { ...dev, seed: 2 }).viewAsComplex();
      const c = rand([6, 3, 2], { ...dev, seed: 3 }).viewAsComplex();
      const want = values(a.matmul(b).matmul(c).viewAsReal());
      const got = values(multiDotAsync([a, b, c]).wait().viewAsReal());
      want.forEach((w, i) => {
        assert.ok(Math.abs(w - (got[i] as number)) < 1e-5 * (1 + Math.abs(w)), `element ${i}`);
      });
      const x = tensor([1, 2, 3, 4], [2, 2], dev);
      assert.deepEqual(values(multiDotAsync([x, x]).wait()), [7, 10, 15, 22]);
      assert.deepEqual(values(multiDotAsync([x, x, x, x]).wait()), values(x.matmul(x).matmul(x).matmul(x)));
    }));

  it('runs jobs in order while the caller goes on, and inputs may be disposed before wait()', () => {
    const before = memory().liveTensors;
    const pending = tidy(() => {
      const x = tensor([0, 1, 1, 0], [2, 2], dev); // swaps the columns
      return [1, 2, 3].map((k) => multiDotAsync([tensor([k, 0, 0, 10 * k], [2, 2], dev), x]));
    }); // every input handle is disposed here
    assert.equal(memory().liveTensors, before);
    tidy(() => {
      pending.forEach((p, i) => {
        assert.deepEqual(values(p.wait()), [0, i + 1, 10 * (i + 1), 0]);
      });
    });
    assert.equal(memory().liveTensors, before, 'the results belong to the waiting scope');
  });

  it('hands a failing job’s error to wait(), refuses a second wait and short chains', () =>
    tidy(() => {
      const p = multiDotAsync([tensor([1, 2, 3], [1, 3], dev), tensor([1, 2], [2, 1], dev)]);
      assert.throws(() => p.wait(), /jobWait: .*(shape|size|multiplied)/i);
      assert.throws(() => p.wait(), /already called/);
      const q = multiDotAsync([tensor([2], [1, 1], dev), tensor([3], [1, 1], dev)]);
      assert.deepEqual(values(q.wait()), [6]);
      assert.throws(() => q.wait(), /already called/);
      assert.throws(() => multiDotAsync([tensor([2], [1, 1], dev)]), /at least two/);
    }));

  it('keepBackgroundAwake: jobs after it run as before; the duration is checked', () =>
    tidy(() => {
      keepBackgroundAwake(5);
      const a = rand([4, 3], { ...dev, seed: 7 });
      const b = rand([3, 5], { ...dev, seed: 8 });
      const want = values(a.matmul(b));
      const got = values(multiDotAsync([a, b]).wait());
      got.forEach((v, i) => {
        assert.ok(Math.abs(v - (want[i] as number)) < 1e-6);
      });
      keepBackgroundAwake(0);
      assert.throws(() => keepBackgroundAwake(-1), /0 to 1000 ms/);
      assert.throws(() => keepBackgroundAwake(5000), /0 to 1000 ms/);
    }));
});

describe('withNumThreads', () => {
  it('runs with the given intra-op thread count and restores it, also after a throw', () => {
    const before = getNumThreads();
    const want = before === 1 ? 2 : before - 1;
    assert.equal(
      withNumThreads(want, () => getNumThreads()),
      want,
    );
    assert.equal(getNumThreads(), before);
    assert.throws(
      () =>
        withNumThreads(want, () => {
          throw new Error('inside');
        }),
      /inside/,
    );
    assert.equal(getNumThreads(), before);
  });
});
