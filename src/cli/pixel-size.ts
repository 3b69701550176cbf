// The pixel size every command uses, by one rule: a value the user gave (--pixel-um, or
// pixelSizeUm in a --params file) when given, with a warning when the input file states another
// (by more than 1 %); else the input file's own; else the preset (or nothing, where a command
// has no preset). The choice is said on stderr, so a result never rests on a silent default.
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { InputFileError } from '../errors.js';
import { listSamples, naturalSort } from '../io/samples.js';
import { openStackReader } from '../io/stack-reader.js';
import type { SimParameters } from '../sim/params.js';
import { resolveDatasetRoot } from '../train/dataset.js';

export interface PixelSizeSources {
  /** The command, as it prefixes its messages, e.g. 'rdl estimate'. */
  command: string;
  /** The input file (named in the messages). */
  input: string;
  /** The file's own pixel size in µm (x), null or undefined when it states none. */
  fileUm: number | null | undefined;
  /** A value the user gave, and where (e.g. '--pixel-um', '--params p.json'); null when none. */
  given: { um: number; by: string } | null;
  /** The last resort (e.g. the preset), and its name; null when the command has none. */
  fallback: { um: number; by: string } | null;
  /** What having none means, for the message (default: the output states none either). */
  noneMeans?: string;
  /** Where to say the choice (default: stderr). */
  say?: (line: string) => void;
}

/** µm for messages: 6 significant digits (float32 headers give 0.06260000169277191). */
function fmt(um: number): string {
  return String(Number(um.toPrecision(6)));
}

/** True when a and b differ by more than 1 %. */
function disagree(a: number, b: number): boolean {
  return Math.abs(a / b - 1) > 0.01;
}

/** The pixel size in µm by the rule above (null: none known and no fallback); says which was used. */
export function choosePixelSize(s: PixelSizeSources): number | null {
  const say = s.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = s.fileUm != null && Number.isFinite(s.fileUm) && s.fileUm > 0 ? s.fileUm : null;
  if (s.given !== null) {
    if (file !== null && disagree(file, s.given.um)) {
      say(
        `${s.command}: warning: ${s.input} states a pixel size of ${fmt(file)} µm; using the ${fmt(s.given.um)} µm of ${s.given.by}`,
      );
    } else {
      say(`${s.command}: pixel size ${fmt(s.given.um)} µm (${s.given.by})`);
    }
    return s.given.um;
  }
  if (file !== null) {
    say(`${s.command}: pixel size ${fmt(file)} µm (from ${s.input})`);
    return file;
  }
  if (s.fallback !== null) {
    say(
      `${s.command}: ${s.input} states no pixel size; using ${fmt(s.fallback.um)} µm (${s.fallback.by}; --pixel-um to change)`,
    );
    return s.fallback.um;
  }
  say(
    `${s.command}: ${s.input} states no pixel size, and none was given (--pixel-um); ${s.noneMeans ?? 'the output states none either'}`,
  );
  return null;
}

/** The pixel size (µm, x) an image file states in its header, or null; reads the header only. */
export function filePixelSizeUm(path: string): number | null {
  const reader = openStackReader(path);
  try {
    const px = reader.info.pixelSizeUm;
    return px && Number.isFinite(px.x) && px.x > 0 ? px.x : null;
  } finally {
    reader.close();
  }
}

/**
 * SIM parameters with the pixel size chosen by the rule: `params` resolved from the preset, a
 * --params file (fileFields: the fields it set) and the options (pixelUm: --pixel-um's text).
 * `input` is read for its header only (a missing or unreadable file fails here, naming it).
 */
export function withPixelSize(
  command: string,
  input: string,
  o: { pixelUm?: string | undefined; params?: string | undefined; preset?: string | undefined },
  params: SimParameters,
  fileFields: Set<string>,
  fileUm: number | null = filePixelSizeUm(input),
  say?: (line: string) => void,
): SimParameters {
  const given =
    o.pixelUm !== undefined
      ? { um: params.pixelSizeUm, by: '--pixel-um' }
      : fileFields.has('pixelSizeUm')
        ? { um: params.pixelSizeUm, by: `--params ${o.params}` }
        : null;
  const um = choosePixelSize({
    command,
    input,
    fileUm,
    given,
    fallback: { um: params.pixelSizeUm, by: `preset ${o.preset ?? 'setup0'}` },
    ...(say ? { say } : {}),
  });
  if (um === null) throw new InputFileError(input, 'no pixel size'); // unreachable: there is a fallback
  return um === params.pixelSizeUm ? params : { ...params, pixelSizeUm: um };
}

/** The first training input file of a data set folder (a stack, or the first page of a sample folder). */
export function firstSampleFile(data: string): string {
  const dir = join(resolveDatasetRoot(data), 'train');
  const first = listSamples(dir)[0];
  if (first === undefined)
    throw new InputFileError(dir, 'the folder has no samples (.tif, .tiff, .mrc or folders of them)');
  if (first.kind === 'file') return first.path;
  const page = naturalSort(
    readdirSync(first.path).filter((n) => ['.tif', '.tiff'].includes(extname(n).toLowerCase())),
  )[0];
  if (page === undefined) throw new InputFileError(first.path, 'the sample folder has no .tif files');
  return join(first.path, page);
}
