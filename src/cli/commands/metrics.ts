// `rdl metrics <reference> <test>`: PSNR, SSIM, NRMSE after min–max normalization, and the
// decorrelation resolution of both images; for raw SIM data (9 frames per cycle) also MCNR.
import type { Command } from 'commander';
import { dispose, type Tensor, tensor } from '../../engine/index.js';
import { InputFileError, ParameterError, ShapeError } from '../../errors.js';
import { type ImageStack, readImageStack } from '../../io/stack.js';
import { decorrelationResolution, fidelity, mcnr, SSIM_SIGMA, SSIM_WINDOW } from '../../metrics/index.js';
import { applyGlobalOptions, integerOption } from '../options.js';

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
  return tensor(s.data.subarray(f * plane, (f + 1) * plane) as Float32Array, [s.height, s.width], { dtype: 'float64' });
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
      const frame = integerOption('--frame', o.frame, 0);
      const ref = readImageStack(refPath);
      const px = o.pixelUm === undefined ? ref.pixelSizeUm?.x : Number(o.pixelUm);
      if (px !== undefined && !(px > 0)) throw new ParameterError('--pixel-um', 'a number > 0', o.pixelUm);
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
          const test = readImageStack(testPath);
          const a = frameOf(ref, refPath, frame);
          const b = frameOf(test, testPath, frame);
          owned.push(a, b);
          const f = fidelity(a, b);
          const opt = px === undefined ? {} : { pixelSizeUm: px };
          const ra = decorrelationResolution(a, opt);
          const rb = decorrelationResolution(b, opt);
          Object.assign(out, {
            psnr: f.psnr,
            ssim: f.ssim,
            nrmse: f.nrmse,
            mse: f.mse,
            resolution: { reference: ra.resolution, test: rb.resolution, unit: ra.unit },
            normalization: 'min-max to [0, 1] (data range 1)',
            ssimWindow: `${SSIM_WINDOW}x${SSIM_WINDOW} Gaussian, sigma ${SSIM_SIGMA}`,
          });
        }
        if (o.json) {
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        } else {
          for (const [k, v] of Object.entries(out)) {
            const s = typeof v === 'number' ? v.toPrecision(5) : typeof v === 'object' ? JSON.stringify(v) : String(v);
            process.stdout.write(`${k.padEnd(20)} ${s}\n`);
          }
        }
      } finally {
        dispose(owned);
      }
    });
}
