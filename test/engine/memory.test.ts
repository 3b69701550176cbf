// Memory: scopes, explicit disposal, the finalizer backstop, live counters, and a leak test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Adam, dispose, emptyCache, F, fft, keep, memory, ones, randn, tensor, tidy } from '../../src/engine/index.js';
import { DEVICE } from '../helpers.js';

const dev = { device: DEVICE };

// A full garbage collection, so that RSS measures leaks rather than uncollected JS garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// Node runs the finalizers of native wrapper objects after a turn of the event loop, not inside
// the collection: a long synchronous loop holds their small native parts until it yields.
async function settle(): Promise<void> {
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
}

describe('scopes and counters', () => {
  it('tidy frees what the function made, except what it returns', () => {
    const before = memory().liveTensors;
    const result = tidy(() => {
      const a = ones([4], dev);
      const b = a.mul(2);
      return { kept: [b.add(1)], label: 'x' };
    });
    assert.equal(memory().liveTensors, before + 1);
    assert.equal(result.kept[0]!.sum().item(), 12); // the temporary of sum() is not in a scope…
    assert.equal(memory().liveTensors, before + 2); // …so it lives until disposed
    dispose(result);
    assert.equal(memory().liveTensors, before + 1);
  });
  it('nested tidy hands returned tensors to the outer scope', () => {
    const before = memory().liveTensors;
    tidy(() => {
      const inner = tidy(() => ones([2], dev).add(1));
      assert.equal(inner.isDisposed, false);
      return undefined;
    });
    assert.equal(memory().liveTensors, before);
  });
  it('keep() takes a tensor out of every scope; errors still free the scope', () => {
    const before = memory().liveTensors;
    const k = tidy(() => {
      keep(ones([2], dev));
      return keep(ones([3], dev));
    });
    assert.equal(memory().liveTensors, before + 2);
    assert.throws(() =>
      tidy(() => {
        ones([5], dev);
        throw new Error('boom');
      }),
    );
    assert.equal(memory().liveTensors, before + 2);
    k.dispose();
    assert.equal(memory().liveTensors, before + 1);
  });
  it('counts bytes of live tensors', () => {
    const before = memory().liveBytes;
    const x = ones([1000], dev); // float32: 4000 bytes
    assert.equal(memory().liveBytes - before, 4000);
    x.dispose();
    assert.equal(memory().liveBytes, before);
  });
  it('frees leaked tensors in the garbage collector and counts them', () => {
    // A child with --expose-gc leaks 100 tensors, collects, and reports the counters.
    const engine = fileURLToPath(new URL('../../src/engine/index.js', import.meta.url));
    const script = `
      const E = await import(${JSON.stringify(engine)});
      for (let i = 0; i < 100; i++) E.ones([256]);
      const before = E.memory();
      for (let i = 0; i < 5; i++) { await new Promise((r) => setTimeout(r, 20)); globalThis.gc(); }
      console.log(JSON.stringify({ before, after: E.memory() }));`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { before, after } = JSON.parse(r.stdout);
    assert.equal(before.liveTensors, 100);
    assert.equal(after.liveTensors, 0);
    assert.equal(after.finalizedLeaks, 100);
  });
});

describe('garbage collector hints', () => {
  it("views share their base tensor's memory and are not reported to V8 as new memory", async (t) => {
    if (DEVICE !== 'cpu') return t.skip('CPU memory only');
    // Each 16 MiB view counted afresh made V8 see gigabytes come and go and run a full collection
    // (~5 ms in the SIM fit) every few dozen views: 396 here before the fix, 0 after.
    const base = ones([64, 256, 256], dev);
    let major = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < 100; i++) {
      tidy(() => {
        for (let j = 0; j < 64; j++) base.select(0, j);
      });
    }
    await new Promise((r) => setTimeout(r, 20));
    observer.disconnect();
    base.dispose();
    assert.ok(major <= 3, `${major} full collections`);
  });
});

describe('large blocks', () => {
  it('reuses freed large CPU blocks: a loop of 16 MB ops does not grow memory', async (t) => {
    if (DEVICE !== 'cpu') return t.skip('CPU allocator only');
    const x = randn([4, 64, 128, 128], { seed: 1 }); // 16 MiB
    for (let i = 0; i < 5; i++) fft.ifftshift(x, [-2, -1]).dispose();
    await settle();
    const rss = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) fft.ifftshift(x, [-2, -1]).dispose(); // 1.6 GB allocated in all
    await settle();
    const grownMB = (process.memoryUsage().rss - rss) / 2 ** 20;
    t.diagnostic(
      `RSS grew by ${grownMB.toFixed(1)} MB over 100 × 16 MiB; cached ${memory().cachedCpuBytes / 2 ** 20} MiB`,
    );
    assert.ok(grownMB < 100, `RSS grew by ${grownMB.toFixed(1)} MB`);
    assert.ok(memory().cachedCpuBytes >= 16 * 2 ** 20, 'the freed block should wait in the cache');
    x.dispose();
    assert.ok(emptyCache() >= 16 * 2 ** 20);
    assert.equal(memory().cachedCpuBytes, 0);
  });

  it('keeps medium blocks (128 KiB to 1 MiB, rounded up to 64 KiB) for reuse too', (t) => {
    if (DEVICE !== 'cpu') return t.skip('CPU allocator only');
    emptyCache();
    // 200 KB, from a typed array as the SIM fit makes its boxes: glibc would fault its pages in anew each time.
    const data = new Float32Array(50_000);
    tensor(data, [50_000]).dispose();
    assert.equal(memory().cachedCpuBytes, 256 * 1024, 'one block of 200 KB rounded up to 256 KiB');
    tensor(data, [50_000]).dispose();
    assert.equal(memory().cachedCpuBytes, 256 * 1024, "the second tensor reused the first one's block");
    // Below 128 KiB, glibc's heap serves (no block is kept).
    tensor(new Float32Array(30_000), [30_000]).dispose();
    assert.equal(memory().cachedCpuBytes, 256 * 1024);
    assert.equal(emptyCache(), 256 * 1024);
  });
});

describe('leak test', () => {
  it('10,000 conv + Adam training steps keep the tensor count constant and RSS growth < 50 MB', async (t) => {
    const w = keep(randn([4, 2, 3, 3], { seed: 1, ...dev }).mul(0.1)).requiresGrad_();
    const b = keep(randn([4], { seed: 2, ...dev })).requiresGrad_();
    const x = keep(randn([2, 2, 16, 16], { seed: 3, ...dev }));
    const target = keep(randn([2, 4, 16, 16], { seed: 4, ...dev }));
    const opt = new Adam([w, b], { lr: 1e-3 });
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        const y = F.conv2d(x, w, b, { padding: 'same' }).leakyRelu(0.2);
        const loss = y.sub(target).square().mean();
        loss.backward();
        opt.step();
        return loss.item();
      });
    for (let i = 0; i < 200; i++) step(); // warm up allocator caches
    await settle();
    const count = memory().liveTensors;
    const rss = process.memoryUsage().rss;
    let first = Number.NaN;
    let last = Number.NaN;
    for (let i = 0; i < 10_000; i++) {
      last = step();
      if (i === 0) first = last;
      if (i % 1000 === 0) {
        assert.equal(memory().liveTensors, count, `live tensors changed at step ${i}`);
        await settle(); // as a training loop does when it reports progress
      }
    }
    await settle();
    const grownMB = (process.memoryUsage().rss - rss) / 2 ** 20;
    assert.equal(memory().liveTensors, count);
    t.diagnostic(`RSS grew by ${grownMB.toFixed(1)} MB over 10,000 steps`);
    assert.ok(grownMB < 50, `RSS grew by ${grownMB.toFixed(1)} MB`);
    assert.ok(last < first, 'the loss should fall while training');
    opt.dispose();
    dispose([w, b, x, target]);
  });
});
