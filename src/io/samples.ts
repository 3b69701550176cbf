// Sample folders in the reference's layout: <root>/<name>/{train,train_gt,val,val_gt}, where a
// sample is one multi-page TIFF, a folder of single-page TIFFs (sorted naturally, so 2.tif comes
// before 10.tif), or an MRC file. Inputs and ground truths are paired by name.
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { InputFileError, ShapeError } from '../errors.js';
import { type ImageStack, readImageStack, type StackData } from './stack.js';

export type SampleSplit = 'train' | 'val';

export interface SampleRef {
  /** Name without extension: the key that pairs an input with its ground truth. */
  name: string;
  /** A stack file (TIFF or MRC), or a folder of single-page TIFFs. */
  path: string;
  kind: 'file' | 'folder';
}

export interface SamplePair {
  name: string;
  input: SampleRef;
  gt: SampleRef;
}

const STACK_EXT = new Set(['.tif', '.tiff', '.mrc']);
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Sorts names as people count: 2.tif < 10.tif. */
export function naturalSort(names: string[]): string[] {
  return [...names].sort((a, b) => collator.compare(a, b));
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (err) {
    throw new InputFileError(
      dir,
      `cannot list the folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The samples in one folder (e.g. <root>/<name>/train). */
export function listSamples(dir: string): SampleRef[] {
  const out: SampleRef[] = [];
  for (const entry of naturalSort(listDir(dir))) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push({ name: entry, path, kind: 'folder' });
    else if (STACK_EXT.has(extname(entry).toLowerCase()))
      out.push({ name: basename(entry, extname(entry)), path, kind: 'file' });
  }
  return out;
}

/** Pairs <dataset>/<split> with <dataset>/<split>_gt by name; any unpaired sample is an error. */
export function pairSamples(dataset: string, split: SampleSplit): SamplePair[] {
  const inputs = listSamples(join(dataset, split));
  const gts = listSamples(join(dataset, `${split}_gt`));
  const gtByName = new Map(gts.map((g) => [g.name, g]));
  const inputNames = new Set(inputs.map((s) => s.name));
  const noGt = inputs.filter((s) => !gtByName.has(s.name)).map((s) => s.name);
  const noInput = gts.filter((g) => !inputNames.has(g.name)).map((g) => g.name);
  if (noGt.length || noInput.length) {
    const parts = [];
    if (noGt.length) parts.push(`no ground truth in ${split}_gt for ${list(noGt)}`);
    if (noInput.length) parts.push(`no input in ${split} for ${list(noInput)}`);
    throw new InputFileError(dataset, parts.join('; '));
  }
  if (inputs.length === 0)
    throw new InputFileError(join(dataset, split), 'the folder has no samples (.tif, .tiff, .mrc or folders of them)');
  return inputs.map((s) => ({ name: s.name, input: s, gt: gtByName.get(s.name)! }));
}

function list(names: string[]): string {
  return names.length > 5 ? `${names.slice(0, 5).join(', ')} and ${names.length - 5} more` : names.join(', ');
}

/** Reads one sample: a stack file, or a folder of single-page TIFFs stacked in natural order. */
export function readSample(ref: SampleRef): ImageStack {
  if (ref.kind === 'file') return readImageStack(ref.path);
  const files = naturalSort(listDir(ref.path).filter((n) => STACK_EXT.has(extname(n).toLowerCase())));
  if (files.length === 0) throw new InputFileError(ref.path, 'the sample folder has no .tif files');
  const pages = files.map((f) => readImageStack(join(ref.path, f)));
  const first = pages[0]!;
  pages.forEach((p, i) => {
    if (p.width !== first.width || p.height !== first.height || p.dtype !== first.dtype) {
      throw new ShapeError(
        `${join(ref.path, files[i]!)}: ${p.width}×${p.height} ${p.dtype}, but ${files[0]} is ${first.width}×${first.height} ${first.dtype}`,
      );
    }
  });
  const total = pages.reduce((n, p) => n + p.data.length, 0);
  const Ctor = first.data.constructor as new (n: number) => StackData;
  const data = new Ctor(total);
  let at = 0;
  for (const p of pages) {
    data.set(p.data as never, at);
    at += p.data.length;
  }
  return { ...first, data, frames: pages.reduce((n, p) => n + p.frames, 0) };
}
