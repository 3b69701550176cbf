// CUDA: the same ops on the GPU agree with the CPU. Skipped, saying why, without a GPU.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cudaAvailable, engineInfo, F, fft, noGrad, randn, tidy } from '../../src/engine/index.js';

const why = cudaAvailable()
  ? false
  : `no CUDA device: this libtorch ${engineInfo().cudaBuild ? 'has CUDA but sees no GPU' : 'is a CPU-only build'} (see README, GPU)`;

describe('CUDA', { skip: why }, () => {
  it('moves tensors to the GPU and back unchanged', () =>
    tidy(() => {
      const x = randn([3, 4], { seed: 1 });
      const g = x.to('cuda');
      assert.equal(g.device, 'cuda:0');
      assert.deepEqual(Array.from(g.to('cpu').toArray()), Array.from(x.toArray()));
    }));
  it('gives the CPU results for conv + backward and FFT', () =>
    tidy(() => {
      const run = (device: string) =>
        tidy(() => {
          const x = randn([2, 3, 16, 16], { seed: 2, device });
          const w = randn([4, 3, 3, 3], { seed: 3, device }).requiresGrad_();
          F.conv2d(x, w, null, { padding: 1 }).square().mean().backward();
          const spectrum = noGrad(() => fft.fft2(x).abs().sum().item());
          return { grad: Array.from(w.grad!.to('cpu').toArray()), spectrum };
        });
      const cpu = run('cpu');
      const gpu = run('cuda');
      assert.ok(Math.abs(cpu.spectrum - gpu.spectrum) / cpu.spectrum < 1e-5);
      for (const [i, v] of cpu.grad.entries()) {
        assert.ok(Math.abs(v - (gpu.grad[i] as number)) < 1e-4 * (1 + Math.abs(v)));
      }
    }));
});
