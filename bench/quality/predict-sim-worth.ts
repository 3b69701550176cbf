// What the rDL pipeline is worth, scored as ALGORITHMS.md §7c–d asks: on simulated cycles of unseen
// scenes, PSNR of the raw frames against the noise-free frames, and PSNR of the Wiener
// reconstruction against GT-SIM (the same reconstruction of the noise-free cycle), for the noisy
// input and for `rdl predict sim`'s per-cycle steps with and without --keep-low-frequencies, with
// the true patterns and with two broken ones (orientations swapped, phases off by π), plus the
// largest per-frame brightness bias of the network's output and the modulation kept.
//
//   node dist/bench/quality/predict-sim-worth.js <sr-model> <denoise-model> <sim_parameters.json> [photons] [size] [scenes]
import { readFileSync } from 'node:fs';
import { tensor, tidy } from '../../src/engine/index.js';
import type { RdlDenoiser } from '../../src/models/denoiser.js';
import type { DFCAN } from '../../src/models/dfcan.js';
import { loadModelFolder } from '../../src/models/folder.js';
import { denoiseCycle } from '../../src/pipelines/rdl-cycle.js';
import { otfTableForGrid, syntheticRadialOtf } from '../../src/sim/otf.js';
import { preset, resolveParameters } from '../../src/sim/params.js';
import { wienerReconstruct } from '../../src/sim/reconstruct/wiener.js';
import { effectiveCutoffPerUm } from '../../src/sim/reconstruct/wiener-filter.js';
import { simulateSample } from '../../src/sim/simulate/sample.js';

const [srPath, dnPath, paramsPath, photonsArg, sizeArg, scenesArg] = process.argv.slice(2);
if (!srPath || !dnPath || !paramsPath) {
  process.stderr.write(
    'usage: predict-sim-worth.js <sr-model> <denoise-model> <sim_parameters.json> [photons 30] [size 64] [scenes 6]\n',
  );
  process.exit(2);
}
const photons = Number(photonsArg ?? 30);
const size = Number(sizeArg ?? 64);
const scenes = Number(scenesArg ?? 6);
const p = resolveParameters(preset('setup0'), JSON.parse(readFileSync(paramsPath, 'utf8')), paramsPath);
const sr = loadModelFolder(srPath) as DFCAN;
const denoiser = loadModelFolder(dnPath) as RdlDenoiser;
const otf = syntheticRadialOtf({ na: p.detectionNA, emissionWavelengthNm: p.emissionWavelengthNm }, 0.001, 64);
const table = otfTableForGrid(otf, { height: size, width: size, pixelSizeUm: p.pixelSizeUm });
const cutoffPerUm = effectiveCutoffPerUm(table);

/** PSNR of a against b, the data range b's. */
function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let se = 0;
  for (let i = 0; i < b.length; i++) {
    lo = Math.min(lo, b[i]!);
    hi = Math.max(hi, b[i]!);
    se += (a[i]! - b[i]!) ** 2;
  }
  return 10 * Math.log10((hi - lo) ** 2 / (se / b.length));
}

type Pattern = { k0PerUm: [number, number]; phaseRad: number };
const reconstruct = (frames: Float32Array, pats: Pattern[]) =>
  tidy(() => {
    const r = wienerReconstruct(tensor(frames, [p.orientations, p.phases, size, size]), otf, p, pats);
    return { image: r.image.toFloat32Array(), modulations: r.modulations };
  });

const rows = new Map<string, number[]>();
const add = (k: string, v: number) => rows.set(k, [...(rows.get(k) ?? []), v]);
for (let scene = 0; scene < scenes; scene++) {
  const s = simulateSample({
    structure: 'microtubules',
    height: size,
    width: size,
    params: p,
    seed: 1000 + scene,
    photons,
  });
  const noisy = s.noisy.select(0, 0).toFloat32Array();
  const clean = s.clean.add(p.backgroundCounts).toFloat32Array();
  for (const t of [s.noisy, s.clean, s.target, s.sr]) t.dispose();
  const pats: Pattern[] = s.truth.orientations.map((o) => ({ k0PerUm: o.k0PerUm, phaseRad: o.phaseRad }));
  const run = (pt: Pattern[], keep: number) =>
    denoiseCycle(noisy, size, size, pt, { sr, denoiser }, p, table, {
      tile: 512,
      overlap: 32,
      keepLowFrequencies: keep,
      cutoffPerUm,
      device: 'cpu',
    });
  const plain = run(pats, 0);
  const fixed = run(pats, 0.1);
  const gt = reconstruct(clean, pats);
  const wNoisy = reconstruct(noisy, pats);
  const wPlain = reconstruct(plain.frames, pats);
  const wFixed = reconstruct(fixed.frames, pats);
  add('raw: noisy', psnr(noisy, clean));
  add('raw: rDL', psnr(plain.frames, clean));
  add('raw: rDL + low frequencies', psnr(fixed.frames, clean));
  add('raw: rDL, orientations swapped', psnr(run([pats[1]!, pats[2]!, pats[0]!], 0).frames, clean));
  add(
    'raw: rDL, phases + π',
    psnr(
      run(
        pats.map((o) => ({ ...o, phaseRad: o.phaseRad + Math.PI })),
        0,
      ).frames,
      clean,
    ),
  );
  add('SIM: noisy', psnr(wNoisy.image, gt.image));
  add('SIM: rDL', psnr(wPlain.image, gt.image));
  add('SIM: rDL + low frequencies', psnr(wFixed.image, gt.image));
  add('bias: max |frame mean − 1| %', 100 * Math.max(...plain.meanRatios.map((r) => Math.abs(r - 1))));
  add(
    'modulation kept (mean of 3) %',
    (100 * wFixed.modulations.reduce((a, m, d) => a + m / wNoisy.modulations[d]!, 0)) / 3,
  );
}
process.stdout.write(
  `${scenes} scenes, ${size}², ${photons} photons (PSNR in dB; mean over scenes, then each scene)\n`,
);
for (const [k, v] of rows) {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  process.stdout.write(`${k.padEnd(34)} ${mean.toFixed(2).padStart(7)}   ${v.map((x) => x.toFixed(2)).join(' ')}\n`);
}
sr.dispose();
denoiser.dispose();
