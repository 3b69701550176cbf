// Scratch: a growable host buffer whose views share memory until it has to grow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scratch } from '../../src/engine/index.js';

describe('Scratch', () => {
  it('returns views of exactly n elements that share one buffer until a larger one is needed', () => {
    const s = new Scratch(Float32Array);
    const a = s.view(10);
    assert.equal(a.length, 10);
    a.fill(7);
    const b = s.view(4);
    assert.equal(b.buffer, a.buffer, 'a smaller view reuses the buffer');
    assert.deepEqual(Array.from(b), [7, 7, 7, 7]);
    const c = s.view(100);
    assert.equal(c.length, 100);
    assert.notEqual(c.buffer, a.buffer, 'a larger view gets a new buffer');
    assert.ok(c instanceof Float32Array);
  });
  it('trims a buffer above the limit, and only then', () => {
    const s = new Scratch(Float64Array);
    const big = s.view(1000);
    assert.equal(s.trim(10_000), false);
    assert.equal(s.view(1000).buffer, big.buffer, 'kept under the limit');
    assert.equal(s.trim(100), true);
    assert.notEqual(s.view(1000).buffer, big.buffer, 'let go over the limit');
  });
});
