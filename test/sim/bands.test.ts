// Band separation (src/sim/bands.ts) against its definition, frame by frame: band0 = Σ_j F_j and
// B1 = Σ_j e^{ijφ}·F_j with F_j the 2D FFT of frame j, on even, odd and non-square grids (both
// bands come from one transform of a strided view of the combined frames, so layouts matter).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { complex, fft, memory, rand, type Tensor, tidy } from '../../src/engine/index.js';
import { separateBands } from '../../src/sim/fit/bands.js';
import { DEVICE } from '../helpers.js';

test('separateBands equals the per-frame sums of spectra, any grid shape', () => {
  const before = memory().liveTensors;
  for (const [h, w] of [
    [32, 32],
    [33, 31],
    [20, 17],
    [16, 40],
  ] as const) {
    tidy(() => {
      const frames = rand([2, 3, h, w], { seed: h * w, dtype: 'float64', device: DEVICE });
      const bands = separateBands(frames);
      const spectra = fft.fft2(frames); // [D, P, h, w]
      let band0: Tensor = spectra.select(1, 0);
      let band1: Tensor = spectra.select(1, 0);
      for (let j = 1; j < 3; j++) {
        const f = spectra.select(1, j);
        band0 = band0.add(f);
        const phase = (2 * Math.PI * j) / 3;
        band1 = band1.add(f.mul(complex(f.real().mul(0).add(Math.cos(phase)), f.real().mul(0).add(Math.sin(phase)))));
      }
      const scale = band0.abs().max().item();
      for (const [got, want, name] of [
        [bands.select(1, 0), band0, 'band0'],
        [bands.select(1, 1), band1, 'B1'],
      ] as const) {
        const err = got.sub(want).abs().max().item();
        assert.ok(err < 1e-12 * scale, `${h}×${w} ${name}: max error ${err}`);
      }
    });
  }
  assert.equal(memory().liveTensors, before);
});
