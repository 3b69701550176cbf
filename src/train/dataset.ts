// A training data set in the reference's layout, checked before any training starts:
// <data>/{train,train_gt,val,val_gt}, a sample being a stack file or a folder of single-page TIFFs
// (src/io/samples.ts), inputs paired with their targets by name. Every sample's size and frame
// count is read once and checked against what the network needs (values finite too), so a
// wrong file is named before the first iteration instead of failing hours in.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputFileError, ShapeError } from '../errors.js';
import { pairSamples, readSample, type SamplePair, type SampleSplit } from '../io/samples.js';

/** What one sample pair must look like. */
export interface PairShape {
  /** Frames of an input sample (9 for a SIM cycle). */
  inputFrames: number;
  /** Frames of a target sample (1 for the SR image, 9 for the high-SNR cycle). */
  targetFrames: number;
  /** Target size over input size (2 for SR, 1 for denoising). */
  scale: number;
}

export interface SampleInfo {
  pair: SamplePair;
  width: number;
  height: number;
}

export interface Dataset {
  root: string;
  train: SampleInfo[];
  val: SampleInfo[];
}

const SPLITS = ['train', 'train_gt', 'val', 'val_gt'];

/**
 * The data set folder: <path> itself when it holds train/ …, or its only subfolder that does
 * (`rdl simulate -o sim --layout sr` writes sim/<name>/train/ …).
 */
export function resolveDatasetRoot(path: string): string {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new InputFileError(path, 'the training data must be a folder with train/, train_gt/, val/ and val_gt/');
  }
  const has = (p: string) => SPLITS.every((s) => existsSync(join(p, s)));
  if (has(path)) return path;
  const subs = readdirSync(path).filter((n) => !n.startsWith('.') && has(join(path, n)));
  if (subs.length === 1) return join(path, subs[0] as string);
  const missing = SPLITS.filter((s) => !existsSync(join(path, s)));
  throw new InputFileError(
    path,
    subs.length > 1
      ? `holds several data sets (${subs.join(', ')}): name one of them`
      : `not a training data set: ${missing.map((s) => `${s}/`).join(', ')} missing (expected train/, train_gt/, val/, val_gt/ as \`rdl simulate --layout sr|dn\` writes)`,
  );
}

/** Lists, pairs and checks every sample of both splits. */
export function openDataset(path: string, shape: PairShape, minInputSide: number): Dataset {
  const root = resolveDatasetRoot(path);
  const check = (split: SampleSplit) => pairSamples(root, split).map((pair) => checkPair(pair, shape, minInputSide));
  return { root, train: check('train'), val: check('val') };
}

function checkPair(pair: SamplePair, shape: PairShape, minSide: number): SampleInfo {
  const input = readSample(pair.input);
  const gt = readSample(pair.gt);
  if (input.dtype === 'complex64' || gt.dtype === 'complex64') {
    throw new InputFileError(
      input.dtype === 'complex64' ? pair.input.path : pair.gt.path,
      'complex data cannot be trained on',
    );
  }
  if (input.frames !== shape.inputFrames) {
    throw new ShapeError(`${pair.input.path}: ${input.frames} frames, expected ${shape.inputFrames} (one SIM cycle)`);
  }
  if (gt.frames !== shape.targetFrames) {
    throw new ShapeError(`${pair.gt.path}: ${gt.frames} frames, expected ${shape.targetFrames}`);
  }
  if (gt.width !== input.width * shape.scale || gt.height !== input.height * shape.scale) {
    throw new ShapeError(
      `${pair.gt.path}: ${gt.width}×${gt.height} px, expected ${input.width * shape.scale}×${input.height * shape.scale} (${shape.scale === 1 ? 'the size' : `${shape.scale}× the size`} of its input ${pair.input.path}, ${input.width}×${input.height})`,
    );
  }
  if (input.width < minSide || input.height < minSide) {
    throw new ShapeError(
      `${pair.input.path}: ${input.width}×${input.height} px, smaller than the patch (${minSide} px)`,
    );
  }
  for (const [s, p] of [
    [input, pair.input.path],
    [gt, pair.gt.path],
  ] as const) {
    const d = s.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i] as number)) {
        const plane = s.width * s.height;
        const f = Math.floor(i / plane);
        const y = Math.floor((i % plane) / s.width);
        throw new InputFileError(p, `non-finite value ${d[i]} at frame ${f}, y ${y}, x ${i % s.width}`);
      }
    }
  }
  return { pair, width: input.width, height: input.height };
}

/** A sample's input and target as float32, [frame][y][x]. */
export interface LoadedPair {
  input: Float32Array;
  target: Float32Array;
  width: number;
  height: number;
}

export function loadPair(pair: SamplePair): LoadedPair {
  const input = readSample(pair.input);
  const gt = readSample(pair.gt);
  return {
    input: Float32Array.from(input.data as ArrayLike<number>),
    target: Float32Array.from(gt.data as ArrayLike<number>),
    width: input.width,
    height: input.height,
  };
}
