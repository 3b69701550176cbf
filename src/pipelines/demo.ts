// The built-in example, end to end on simulated data with known truth: simulate a noisy 2D-SIM
// cycle of microtubules → estimate the illumination from the noisy frames alone → Wiener
// reconstruction → score against the ground truth and the widefield baseline. Everything it
// computes is written to one output folder, so a new user can open the images in Fiji.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, tidy } from '../engine/index.js';
import { OutputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { writeImageStack } from '../io/stack.js';
import { decorrelationResolution, fidelity } from '../metrics/index.js';
import { estimateStack, type OrientationEstimate } from '../sim/fit/estimate.js';
import { angleDiff } from '../sim/fit/window.js';
import { type RadialOtf, syntheticRadialOtf } from '../sim/otf.js';
import type { SimParameters } from '../sim/params.js';
import { widefield2x, wienerReconstruct } from '../sim/reconstruct/wiener.js';
import { simulatorParameters } from '../sim/simulate/optics.js';
import { simulateSample } from '../sim/simulate/sample.js';
import type { TrueOrientation } from '../sim/simulate/truth.js';

export interface DemoOptions {
  /** Output folder (created; must be empty or absent, so nothing of the user's is overwritten). */
  outDir: string;
  /** Raw image size, pixels (the SR images are twice this). */
  size?: number;
  /** Peak photons per raw pixel of the noisy cycle. */
  photons?: number;
  seed?: number;
  device?: string;
  onStep?: (step: string) => void;
}

export interface ParameterErrors {
  angleMrad: number;
  spacingPercent: number;
  phaseDeg: number;
  /** The fit's own standard error of the phase (reliability.phaseSdRad), degrees; null without one. */
  phaseSdDeg: number | null;
}

export interface ImageScore {
  psnrDb: number;
  ssim: number;
  nrmse: number;
  /** Decorrelation resolution, nm. */
  resolutionNm: number;
}

export interface DemoReport {
  outDir: string;
  size: number;
  photons: number;
  seed: number;
  /** Per orientation: the fit's error against the simulator's truth. */
  estimationErrors: ParameterErrors[];
  wiener: ImageScore;
  widefield: ImageScore;
  groundTruthResolutionNm: number;
  files: string[];
}

/** Error of one fitted orientation against the truth (angles mod π: a pattern vector and its
 * negative describe the same fringes, with the phase negated). */
export function parameterError(fit: OrientationEstimate, truth: TrueOrientation): ParameterErrors {
  let dAngle = angleDiff(fit.angleRad, truth.angleRad);
  let dPhase = angleDiff(fit.phaseRad, truth.phaseRad);
  if (Math.abs(dAngle) > Math.PI / 2) {
    dAngle = angleDiff(dAngle, -Math.PI);
    dPhase = angleDiff(-fit.phaseRad, truth.phaseRad);
  }
  return {
    angleMrad: Math.abs(dAngle) * 1000,
    spacingPercent: (Math.abs(fit.spacingUm - truth.spacingUm) / truth.spacingUm) * 100,
    phaseDeg: (Math.abs(dPhase) * 180) / Math.PI,
    phaseSdDeg: fit.reliability?.phaseSdRad == null ? null : (fit.reliability.phaseSdRad * 180) / Math.PI,
  };
}

function score(truth: Tensor, image: Tensor, pixelSizeUm: number, maxFrequency: number): ImageScore {
  const f = fidelity(truth, image);
  const res = decorrelationResolution(image, { pixelSizeUm, maxFrequency });
  return { psnrDb: f.psnr, ssim: f.ssim, nrmse: f.nrmse, resolutionNm: res.resolution * 1000 };
}

function prepareOutDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new OutputError(`${dir} is not empty: choose a new or empty folder for the demo's outputs`);
  }
  mkdirSync(dir, { recursive: true });
}

export function runDemo(o: DemoOptions): DemoReport {
  const size = o.size ?? 256;
  const photons = o.photons ?? 100;
  const seed = o.seed ?? 1;
  const step = o.onStep ?? (() => {});
  prepareOutDir(o.outDir);
  const params: SimParameters = simulatorParameters();
  const otf: RadialOtf = syntheticRadialOtf(
    { na: params.detectionNA, emissionWavelengthNm: params.emissionWavelengthNm },
    0.001,
    64,
  );
  const files: string[] = [];
  const px = params.pixelSizeUm;
  const write = (name: string, data: Float32Array | Uint16Array, frames: number, side: number, pixelUm: number) => {
    const path = join(o.outDir, name);
    writeImageStack(path, data, { width: side, height: side, frames }, { pixelSizeUm: { x: pixelUm, y: pixelUm } });
    files.push(path);
  };

  step('simulating a noisy SIM cycle of microtubules');
  const sample = simulateSample({ structure: 'microtubules', height: size, width: size, params, seed, photons });
  try {
    const raw = tidy(() => sample.noisy.select(0, 0)); // [orientations, phases, H, W]
    const rawCounts = Uint16Array.from(raw.toFloat32Array(), (v) => Math.min(65535, Math.max(0, Math.round(v))));
    write('raw_noisy.mrc', rawCounts, params.orientations * params.phases, size, px);
    write('sr_ground_truth.tif', sample.sr.toFloat32Array(), 1, 2 * size, px / 2);

    step('estimating the illumination pattern from the noisy frames');
    const stack = { data: rawCounts, width: size, height: size, frames: params.orientations * params.phases };
    const fit = estimateStack(stack, otf, params, { device: o.device }).orientations;
    const estimationErrors = fit.map((f, d) => parameterError(f, sample.truth.orientations[d] as TrueOrientation));

    step('Wiener SIM reconstruction');
    const scores = tidy(() => {
      const recon = wienerReconstruct(raw, otf, params, fit, { device: o.device });
      const wf = widefield2x(raw, params);
      write('wiener_sr.tif', recon.image.toFloat32Array(), 1, 2 * size, px / 2);
      write('widefield_2x.tif', wf.toFloat32Array(), 1, 2 * size, px / 2);
      step('scoring against the ground truth');
      // The 2× grid's Nyquist is 1/px cycles/µm; the SR truth and the reconstruction reach it,
      // the widefield only up to the raw grid's Nyquist (half of it).
      return {
        wiener: score(sample.sr, recon.image, px / 2, 1),
        widefield: score(sample.sr, wf, px / 2, 0.5),
        truthRes: decorrelationResolution(sample.sr, { pixelSizeUm: px / 2 }).resolution * 1000,
      };
    });
    const report: DemoReport = {
      outDir: o.outDir,
      size,
      photons,
      seed,
      estimationErrors,
      wiener: scores.wiener,
      widefield: scores.widefield,
      groundTruthResolutionNm: scores.truthRes,
      files,
    };
    const reportPath = join(o.outDir, 'report.json');
    writeFileAtomic(reportPath, [Buffer.from(`${JSON.stringify({ ...report, truth: sample.truth, fit }, null, 2)}\n`)]);
    report.files.push(reportPath);
    return report;
  } finally {
    for (const t of [sample.noisy, sample.target, sample.clean, sample.sr]) t.dispose();
  }
}
