// `rdl metrics <reference> <test>`: PSNR, SSIM, NRMSE after min–max normalization, and the
// decorrelation resolution of both images; for raw SIM data (9 frames per cycle) also MCNR.
import type { Command } from 'commander';
import { dispose, type Tensor, tensor } from '../../engine/index.js';
import { InputFileError, ParameterError, ShapeError } from '../../errors.js';
import type { ImageStack } from '../../io/stack.js';
import { decorrelationResolution, fidelity, mcnr, SSIM_SIGMA, SSIM_WINDOW } from '../../metrics/index.js';
import { naming, nonFiniteFields, readRealStack, requireInputFile } from '../inputs.js';
import { applyGlobalOptions, integerOption, positiveOption } from '../options.js';
import { choosePixelSize } from '../pixel-size.js';

interface MetricsCliOptions {
  json?: boolean;
  frame: string;
  pixelUm?: string;
  offset: string;
}

function frameOf(s: ImageStack, path: string, f: number): Tensor {
  if (s.dtype === 'complex64') throw new InputFileError(path, 'complex data is not an image');
  if (f >= s.frames) throw new ParameterError('--frame', `a frame index below ${s.frames} (${path})`, f);
  const plane = s.width * s.height;
  const data = s.data.subarray(f * plane, (f + 1) * plane) as Float32Array;
  if (data.every((v) => v === data[0])) {
    throw new InputFileError(
      path,
      `frame ${f} has no contrast (every pixel is ${data[0]}); there is nothing to compare`,
    );
  }
  return tensor(data, [s.height, s.width], { dtype: 'float64' });
}

/** A resolution for people: finite, or why not. */
function resolutionText(r: { reference: number | null; test: number | null; unit: string }): string {
  const one = (v: number | null) =>
    v === null ? 'not measurable (no significant decorrelation peak)' : `${Number(v.toPrecision(4))} ${r.unit}`;
  return `reference ${one(r.reference)}, test ${one(r.test)}`;
}

export function registerMetrics(program: Command): void {
  program
    .command('metrics')
    .description(
      'compare an image with a reference (PSNR, SSIM, NRMSE, decorrelation resolution), or grade raw SIM data (MCNR)',
    )
    .argument('<reference>', 'reference image (ground truth), or raw SIM frames when given alone')
    .argument('[test]', 'image to score (same size as the reference)')
    .option('--frame <n>', 'frame of each file to compare', '0')
    .option('--pixel-um <um>', 'pixel size in µm for the resolution (default: from the file)')
    .option('--offset <counts>', 'camera offset for MCNR', '100')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `\nBoth images are min–max normalized to [0, 1] first (data range 1). SSIM: ${SSIM_WINDOW}×${SSIM_WINDOW} Gaussian window, σ ${SSIM_SIGMA}, K1 0.01, K2 0.03, valid filtering (TensorFlow's). NRMSE = ‖ref − test‖/‖ref‖. Resolution: decorrelation analysis (Descloux 2019). MCNR grades: < 4 inadequate, 4–8 low, 8–12 good, > 12 excellent.`,
    )
    .action((refPath: string, testPath: string | undefined, o: MetricsCliOptions) => {
      applyGlobalOptions(program);
      requireInputFile(refPath);
      if (testPath !== undefined) requireInputFile(testPath);
      const frame = integerOption('--frame', o.frame, 0);
      const givenUm = o.pixelUm === undefined ? undefined : positiveOption('--pixel-um', o.pixelUm);
      const ref = readRealStack(refPath);
      const owned: Tensor[] = [];
      try {
        const out: Record<string, unknown> = {};
        if (testPath === undefined) {
          if (ref.frames % 9 !== 0)
            throw new ShapeError(`${refPath}: MCNR needs raw SIM cycles of 9 frames, found ${ref.frames} frames`);
          const offset = Number(o.offset);
          if (!Number.isFinite(offset)) throw new ParameterError('--offset', 'a number', o.offset);
          const plane = ref.width * ref.height;
          const t = tensor(ref.data.subarray(0, 9 * plane) as Float32Array, [3, 3, ref.height, ref.width], {
            dtype: 'float64',
          });
          owned.push(t);
          const r = mcnr(t, { offsetCounts: offset });
          owned.push(r.map);
          Object.assign(out, { mcnr: r.feature, mcnrPerOrientation: r.perOrientation, grade: r.grade });
        } else {
          const test = readRealStack(testPath);
          if (test.width !== ref.width || test.height !== ref.height) {
            throw new ShapeError(
              `${testPath} and ${refPath} differ in shape: images of ${test.width}×${test.height} vs ${ref.width}×${ref.height} pixels; metrics compare images of one size`,
            );
          }
          const a = frameOf(ref, refPath, frame);
          const b = frameOf(test, testPath, frame);
          owned.push(a, b);
          const px = choosePixelSize({
            command: 'rdl metrics',
            input: refPath,
            fileUm: ref.pixelSizeUm?.x,
            given: givenUm === undefined ? null : { um: givenUm, by: '--pixel-um' },
            fallback: null,
            noneMeans: 'resolutions are in pixels',
          });
          const f = naming(refPath, () => fidelity(a, b));
          const opt = px === null ? {} : { pixelSizeUm: px };
          const ra = naming(refPath, () => decorrelationResolution(a, opt));
          const rb = naming(testPath, () => decorrelationResolution(b, opt));
          const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);
          const identical = f.mse === 0;
          Object.assign(out, {
            // Identical images: PSNR is unbounded; given as null with identical: true (JSON has no ∞).
            psnr: identical ? null : f.psnr,
            ...(identical ? { identical: true } : {}),
            ssim: f.ssim,
            nrmse: f.nrmse,
            mse: f.mse,
            resolution: { reference: finiteOrNull(ra.resolution), test: finiteOrNull(rb.resolution), unit: ra.unit },
            normalization: 'min-max to [0, 1] (data range 1)',
            ssimWindow: `${SSIM_WINDOW}x${SSIM_WINDOW} Gaussian, sigma ${SSIM_SIGMA}`,
          });
        }
        const bad = nonFiniteFields(out);
        if (bad.length > 0) {
          throw new InputFileError(
            testPath ?? refPath,
            `the metrics came out non-finite (${bad.slice(0, 3).join(', ')}); nothing is reported`,
          );
        }
        if (o.json) {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        } else {
          for (const [k, v] of Object.entries(out)) {
            if (k === 'identical') continue;
            const s =
              k === 'psnr' && v === null
                ? '∞ (identical images)'
                : k === 'resolution'
                  ? resolutionText(v as { reference: number | null; test: number | null; unit: string })
                  : typeof v === 'number'
                    ? v.toPrecision(5)
                    : Array.isArray(v)
                      ? v.map((x) => (typeof x === 'number' ? x.toPrecision(5) : String(x))).join(', ')
                      : String(v);
            process.stdout.write(`${k.padEnd(20)} ${s}\n`);
          }
        }
      } finally {
        dispose(owned);
      }
    });
}
