import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { dispose, memory, ones, tensor } from '../../src/engine/index.js';
import { ParameterError, ShapeError } from '../../src/errors.js';
import { writeMrc } from '../../src/io/mrc.js';
import { decorrelationResolution, fidelity } from '../../src/metrics/index.js';
import { estimateStack } from '../../src/sim/fit/estimate.js';
import { cycleTensor } from '../../src/sim/frames.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters } from '../../src/sim/params.js';
import { parsePatterns } from '../../src/sim/reconstruct/pattern-json.js';
import { preprocess, widefield2x, wienerReconstruct } from '../../src/sim/reconstruct/wiener.js';
import { effectiveCutoffPerUm } from '../../src/sim/reconstruct/wiener-filter.js';
import { simulatorParameters } from '../../src/sim/simulate/optics.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';
import { DEVICE } from '../helpers.js';
import { tempDir } from '../io/tmp.js';
import { loadMt, loadOtf, SKIP_REAL } from './mt.js';

const P = simulatorParameters();
const OTF = syntheticRadialOtf({ na: P.detectionNA, emissionWavelengthNm: P.emissionWavelengthNm }, 0.001, 64);

test('Wiener reconstruction beats the widefield image on simulated data (PSNR, SSIM, resolution)', () => {
  const before = memory().liveTensors;
  const n = 128;
  const half = P.pixelSizeUm / 2;
  const gt = { photons: 0, res: 0 };
  for (const photons of [100, 1000]) {
    const s = simulateSample({
      structure: 'microtubules',
      height: n,
      width: n,
      params: P,
      photons,
      seed: 31,
      device: DEVICE,
    });
    const frames = s.noisy.select(0, 0);
    const rec = wienerReconstruct(frames, OTF, P, s.truth.orientations, { wiener: 0.1 });
    const wf = widefield2x(frames, P);
    assert.deepEqual(rec.image.shape, [2 * n, 2 * n]);
    assert.ok(rec.image.toFloat32Array().every((v) => v >= 0));
    const fr = fidelity(s.sr, rec.image);
    const fw = fidelity(s.sr, wf);
    assert.ok(fr.psnr > fw.psnr + 5, `${photons} ph: PSNR ${fr.psnr} vs widefield ${fw.psnr}`);
    assert.ok(fr.ssim > fw.ssim + 0.1, `${photons} ph: SSIM ${fr.ssim} vs widefield ${fw.ssim}`);
    // The measured modulation depth is close to the truth (it is not biased by noise like |modamp|).
    rec.modulations.forEach((m, d) => {
      assert.ok(Math.abs(m - s.truth.orientations[d]!.modulation) < 0.15, `${photons} ph, orientation ${d}: m ${m}`);
    });
    if (photons === 1000) {
      const rr = decorrelationResolution(rec.image, { pixelSizeUm: half }).resolution;
      const rw = decorrelationResolution(wf, { pixelSizeUm: half }).resolution;
      gt.res = decorrelationResolution(s.sr, { pixelSizeUm: half }).resolution;
      assert.ok(
        Math.abs(rr - gt.res) < Math.abs(rw - gt.res),
        `resolution ${rr} vs widefield ${rw}, truth ${gt.res} µm`,
      );
      assert.ok(rr < 0.7 * rw, `resolution ${rr} vs widefield ${rw} µm`);
    }
    dispose([s, frames, rec.image, wf]);
  }
  assert.equal(memory().liveTensors, before);
});

test('wrong phases or wrong k make the reconstruction worse (the parameters matter)', () => {
  const n = 64;
  const s = simulateSample({
    structure: 'ccps',
    height: n,
    width: n,
    params: P,
    photons: 1000,
    seed: 4,
    device: DEVICE,
  });
  const frames = s.noisy.select(0, 0);
  const score = (orients: typeof s.truth.orientations) => {
    const r = wienerReconstruct(frames, OTF, P, orients, { modulation: 'given' });
    const f = fidelity(s.sr, r.image).psnr;
    r.image.dispose();
    return f;
  };
  const right = score(s.truth.orientations);
  const badPhase = score(s.truth.orientations.map((o) => ({ ...o, phaseRad: o.phaseRad + 2 })));
  const badK = score(
    s.truth.orientations.map((o) => ({
      ...o,
      k0PerUm: [o.k0PerUm[0] * 1.03, o.k0PerUm[1] * 1.03] as [number, number],
    })),
  );
  assert.ok(right > badPhase + 1, `right ${right}, wrong phase ${badPhase}`);
  assert.ok(right > badK + 1, `right ${right}, wrong k ${badK}`);
  dispose([s, frames]);
});

test('MT.mrc: the reconstruction carries signal beyond the widefield cutoff 2NA/λ', { skip: SKIP_REAL }, () => {
  // TIRF objective: NA 1.49 at 525 nm emission → 5.68 cycles/µm (the measured 488 OTF ends near 5.8).
  const p = resolveParameters(preset('setup0'), { detectionNA: 1.49 });
  const kc = (2 * p.detectionNA) / (p.emissionWavelengthNm / 1000);
  const stack = loadMt();
  const otf = loadOtf();
  const fit = estimateStack(stack, otf, p).orientations;
  const frames = cycleTensor(stack, p, { device: DEVICE });
  // Unclipped: clipping at 0 is non-linear and would spread energy over all frequencies.
  const rec = wienerReconstruct(frames, otf, p, fit, { clip: false });
  const half = p.pixelSizeUm / 2;
  // The reconstruction is analysed inside its support (the apodization ends at kc_OTF + |k0|,
  // beyond it the spectrum is zero), the widefield image (mean of the frames) on its own grid.
  const support = effectiveCutoffPerUm(otfTableForGrid(otf, { height: 512, width: 512, pixelSizeUm: half }));
  const kMax = Math.max(...fit.map((o) => o.magnitudePerUm));
  const r = decorrelationResolution(rec.image, { pixelSizeUm: half, maxFrequency: (support + kMax) * 2 * half * 0.98 });
  const wfRaw = preprocess(frames, p).mean([0, 1]);
  const w = decorrelationResolution(wfRaw, { pixelSizeUm: p.pixelSizeUm });
  // Decorrelation analysis measures the highest frequency that still carries signal above noise.
  assert.ok(
    r.cutoffPerUm! > 1.2 * kc,
    `reconstruction's signal reaches ${r.cutoffPerUm} cycles/µm; widefield cutoff ${kc}`,
  );
  assert.ok(w.cutoffPerUm! < 1.05 * kc, `widefield reaches ${w.cutoffPerUm} cycles/µm`);
  if (process.env.RDL_VERBOSE)
    console.log(`MT.mrc: reconstruction ${r.cutoffPerUm} (${r.resolution} µm), widefield ${w.cutoffPerUm} cycles/µm`);
  dispose([frames, rec.image, wfRaw]);
});

test('bad input: frame counts, orientations, w ≤ 0', () => {
  const frames8 = ones([8, 64, 64]).mul(200);
  const frames = ones([3, 3, 64, 64]).mul(200);
  const pat = { k0PerUm: [5, 0] as [number, number], phaseRad: 0, modulation: 0.8 };
  assert.throws(() => wienerReconstruct(frames8, OTF, P, [pat], {}), ShapeError);
  assert.throws(() => wienerReconstruct(frames, OTF, P, [pat, pat], {}), /3 orientations in the data but 2/);
  for (const w of [0, -0.1, Number.NaN]) {
    assert.throws(() => wienerReconstruct(frames, OTF, P, [pat, pat, pat], { wiener: w }), ParameterError);
  }
  assert.throws(
    () => wienerReconstruct(frames, OTF, P, [pat, pat, { ...pat, modulation: undefined }], { modulation: 'given' }),
    /orientations\[2\]\.modulation/,
  );
  dispose([frames8, frames]);
});

test('illumination JSON: missing or invalid fields are named', () => {
  const good = { k0PerUm: [1, 5], phaseRad: 0.3, modulation: 0.7 };
  assert.equal(parsePatterns({ orientations: [good, good, good] }, 3)[0]!.orientations[2]!.modulation, 0.7);
  const fromModamp = parsePatterns(
    { orientations: [good, good, { k0PerUm: [1, 5], phaseRad: 0, modamp: [0.2, 0] }] },
    3,
  );
  assert.ok(Math.abs(fromModamp[0]!.orientations[2]!.modulation! - 0.4174) < 1e-3);
  const cases: [unknown, RegExp][] = [
    [{ orientations: [good, good] }, /orientations: expected an array of 3/],
    [{ orientations: [good, good, { k0PerUm: [1, 5] }] }, /orientations\[2\]\.phaseRad: expected a finite number/],
    [{ orientations: [good, { ...good, k0PerUm: [1] }, good] }, /orientations\[1\]\.k0PerUm/],
    [{ orientations: [good, { ...good, k0PerUm: [0, 0] }, good] }, /orientations\[1\]\.k0PerUm/],
    [{ orientations: [{ ...good, modulation: -1 }, good, good] }, /orientations\[0\]\.modulation/],
    [{ orientations: [good, good, good], cycles: [3, 1] }, /cycles/],
    [[], /at least one group/],
    ['text', /orientations/],
  ];
  for (const [v, re] of cases) assert.throws(() => parsePatterns(v, 3, 'p.json'), re);
});

test('rdl reconstruct: simulated input end to end, and bad input exits non-zero with one line', () => {
  const tmp = tempDir('recon-cli');
  const s = simulateSample({ structure: 'beads', height: 64, width: 64, params: P, photons: 500, seed: 2, cycles: 2 });
  const raw = tmp.file('raw.mrc');
  writeMrc(raw, Uint16Array.from(s.noisy.toFloat32Array()), { nx: 64, ny: 64, nz: 18 });
  const truth = tmp.file('truth.json');
  writeFileSync(truth, JSON.stringify(s.truth));
  const simParams = tmp.file('sim.json');
  writeFileSync(simParams, JSON.stringify(P));
  dispose(s);
  const rdl = (...args: string[]) => spawnSync(process.execPath, ['bin/rdl.js', ...args], { encoding: 'utf8' });
  const out = tmp.file('out.tif');
  const ok = rdl(
    'reconstruct',
    raw,
    '-o',
    out,
    '--params',
    truth,
    '--na',
    '1.49',
    '--emission-nm',
    '525',
    '--excitation-na',
    '1.35',
  );
  assert.equal(ok.status, 0, ok.stderr);
  const fitted = rdl('reconstruct', raw, '-o', tmp.file('fit.tif'), '--params', simParams);
  assert.equal(fitted.status, 0, fitted.stderr);
  assert.match(fitted.stderr, /fitted k0/);
  const m = rdl('metrics', out, tmp.file('fit.tif'), '--json');
  assert.equal(m.status, 0, m.stderr);
  assert.ok(JSON.parse(m.stdout).ssim > 0.9, m.stdout);
  const eight = tmp.file('eight.mrc');
  writeMrc(eight, new Uint16Array(8 * 32 * 32).fill(100), { nx: 32, ny: 32, nz: 8 });
  const badJson = tmp.file('bad.json');
  writeFileSync(badJson, JSON.stringify({ orientations: [{ k0PerUm: [1, 2] }, {}, {}] }));
  const cases: [string[], RegExp][] = [
    [
      ['reconstruct', eight, '-o', tmp.file('a.tif'), '--na', '1.49'],
      /8 frames, not a multiple of 3 orientations × 3 phases/,
    ],
    [['reconstruct', raw, '-o', tmp.file('b.tif'), '--na', '1.49', '--wiener', '0'], /Wiener parameter w/],
    [['reconstruct', raw, '-o', tmp.file('c.tif'), '--na', '1.49', '--params', badJson], /orientations\[0\]\.phaseRad/],
    [['reconstruct', raw, '-o', raw, '--params', truth, '--na', '1.49'], /refusing to overwrite/],
    [['simulate', '-o', tmp.file('d'), '--structure', 'cats'], /--structure/],
    [['simulate', '-o', tmp.file('e'), '--size', '33'], /--size/],
    [['metrics', out, raw], /differ in shape/],
  ];
  for (const [args, re] of cases) {
    const r = rdl(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  for (const c of ['reconstruct', 'simulate', 'metrics']) assert.equal(rdl(c, '--help').status, 0);
});

export { tensor };
