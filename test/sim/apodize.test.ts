import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memory, randn, tensor, tidy } from '../../src/engine/index.js';
import { ShapeError } from '../../src/errors.js';
import { apodize } from '../../src/sim/apodize.js';
import { separateBands } from '../../src/sim/fit/bands.js';
import { cycleTensor } from '../../src/sim/frames.js';
import { preset } from '../../src/sim/params.js';
import { assertClose, DEVICE } from '../helpers.js';
import { interFixture, loadMt, MT, toFft } from './mt.js';

test('apodization keeps the sum, pulls opposite edges together and checks the size', () => {
  const before = memory().liveTensors;
  tidy(() => {
    const x = randn([2, 40, 30], { seed: 5, dtype: 'float64', device: DEVICE });
    const y = apodize(x, 10);
    assert.ok(Math.abs(y.sum().item() - x.sum().item()) < 1e-9);
    // Outermost rows: first += f(0)·(last − first)/2 with f(0) = 1 − sin(π/40).
    const f0 = 1 - Math.sin(Math.PI / 40);
    const xa = x.toArray() as Float64Array;
    const ya = y.toArray() as Float64Array;
    const col = 15; // far from the column tapers
    const want = (xa[col] as number) + (f0 * ((xa[39 * 30 + col] as number) - (xa[col] as number))) / 2;
    assert.ok(Math.abs((ya[col] as number) - want) < 1e-12);
    assert.throws(() => apodize(x, 16), ShapeError);
  });
  assert.equal(memory().liveTensors, before);
});

test('apodized frame and bands of MT.mrc equal the reference', { skip: MT.skip }, () => {
  const ref = interFixture;
  tidy(() => {
    const frames = cycleTensor(loadMt(), preset(), { dtype: 'float64', device: DEVICE });
    const apo = apodize(frames, 10);
    const f0 = apo.select(0, 0).select(0, 0).toArray() as Float64Array;
    assert.ok(Math.abs(f0.reduce((a, b) => a + b, 0) - ref.apodized_frame0.sum) < 1e-3);
    for (const [r, c, v] of ref.apodized_frame0.at)
      assertClose([f0[r * 256 + c] as number], [v], 1e-7, 0, `apodized[${r},${c}]`);
    const bands = separateBands(apo).select(0, 0); // orientation 0: [2, y, x] complex
    const re = bands.real().toArray() as Float64Array;
    const im = bands.imag().toArray() as Float64Array;
    const b = ref.bands_orientation0;
    for (const [r, c, reParts, imParts] of b.at) {
      const i = toFft(r, 256) * 256 + toFft(c, 256);
      // Fixture: real and imaginary parts of (band0, b1re, b1im); B1 = b1re + i·b1im.
      assertClose([re[i] as number, im[i] as number], [reParts[0], imParts[0]], 1e-3, 1e-9, `band0[${r},${c}]`);
      const b1 = [reParts[1] - imParts[2], imParts[1] + reParts[2]];
      assertClose([re[65536 + i] as number, im[65536 + i] as number], b1, 1e-3, 1e-9, `B1[${r},${c}]`);
    }
    const sumAbs0 = bands.select(0, 0).abs().sum().item();
    assert.ok(Math.abs(sumAbs0 / b.sum_abs[0] - 1) < 1e-9);
    const sumAbs1 = bands.select(0, 1).abs().sum().item();
    assert.ok(Math.abs(sumAbs1 / b.sum_abs_band1_complex - 1) < 1e-9);
  });
});

test('band separation isolates the order-1 band of a pure cosine pattern', () => {
  tidy(() => {
    // frames j = 1 + m cos(2π·(5/32)·x + φ0 + j·2π/3): band0 = 3·DC; B1 at −k = 3(m/2)e^{−iφ0}·N².
    const n = 32;
    const m = 0.6;
    const phi0 = 0.7;
    const data = new Float64Array(3 * n * n);
    for (let j = 0; j < 3; j++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++)
          data[(j * n + y) * n + x] = 1 + m * Math.cos((2 * Math.PI * 5 * x) / n + phi0 + (j * 2 * Math.PI) / 3);
    const bands = separateBands(tensor(data, [1, 3, n, n], { device: DEVICE }).to('float64')).select(0, 0);
    const re = bands.real().toArray() as Float64Array;
    const im = bands.imag().toArray() as Float64Array;
    const at = (band: number, qx: number) => [
      re[band * n * n + ((qx + n) % n)] as number,
      im[band * n * n + ((qx + n) % n)] as number,
    ];
    assertClose(at(0, 0), [3 * n * n, 0], 1e-6);
    const amp = 1.5 * m * n * n;
    assertClose(at(1, -5), [amp * Math.cos(-phi0), amp * Math.sin(-phi0)], 1e-6);
    assertClose(at(1, 5), [0, 0], 1e-6);
  });
});
