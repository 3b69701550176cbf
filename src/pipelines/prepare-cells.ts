// The acquisitions `rdl prepare sr|dn` reads, found and checked before anything is written:
//   a folder of cells in the BioSR arrangement, cells at any depth up to 4 below it
//     (BioSR/<structure>/Cell_NNN/), each a folder holding
//       RawSIMData_level_NN.mrc|tif  noisy raw cycles (9 frames) at rising light levels (01 dimmest),
//       RawSIMData_gt.mrc|tif        the high-SNR raw cycle (9 frames): the dn target,
//       SIM_gt.mrc|tif               the SR target (1 frame, twice the raw width and height);
//   or a mapping file (.json) for other arrangements:
//     { "cells": [ { "name": "c1", "levels": ["low.tif", "mid.tif"] | { "1": "low.tif" },
//                    "rawGt": "c1_gt.tif", "srGt": "c1_sr.tif" } ] }
//     (paths relative to the JSON file's folder; levels as a list are numbered 1, 2, …).
// Each cell is checked from the file headers (frame counts, sizes, data types); a problem is a
// BadCell naming the file, so that --skip-bad can report it and go on.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { InputFileError, ParameterError, ShapeError } from '../errors.js';
import { naturalSort } from '../io/samples.js';
import { openStackReader, type StackInfo } from '../io/stack-reader.js';

export type PrepareTask = 'sr' | 'dn';

/** A cell's files as found (not yet checked). */
export interface CellFiles {
  /** The cell's path under the acquisitions folder (e.g. microtubules/Cell_001), or its mapping name. */
  name: string;
  /** Level number → noisy raw cycle file. */
  levels: Map<number, string>;
  rawGt: string | null;
  srGt: string | null;
  /** Where a missing file was expected (the cell folder, or "<mapping.json> cells[i]"). */
  where: string;
  /** Mapping files: true (missing files are named by their field, not a file name). */
  mapped: boolean;
}

/** Which inputs a cell contributes: level numbers, or 'gt' (the high-SNR raw cycle as an sr input). */
export type LevelKey = number | 'gt';

/** A checked cell. */
export interface Cell extends CellFiles {
  /** The levels used, in order. */
  use: LevelKey[];
  width: number;
  height: number;
  /** Raw and SR-target pixel sizes from the headers, µm (x), null when a file does not say. */
  rawPixelUm: number | null;
  srPixelUm: number | null;
}

export interface BadCell {
  cell: string;
  /** The file (or place) the problem is about. */
  file: string;
  problem: string;
}

const STACK = '(mrc|tif|tiff)';
const LEVEL_RE = new RegExp(`^RawSIMData_level_(\\d+)\\.${STACK}$`, 'i');
const RAW_GT_RE = new RegExp(`^RawSIMData_gt\\.${STACK}$`, 'i');
const SR_GT_RE = new RegExp(`^SIM_gt\\.${STACK}$`, 'i');
const MAX_DEPTH = 4;

/** One problem found while listing the acquisitions (a cell with two files for one role). */
export interface Listing {
  cells: CellFiles[];
  bad: BadCell[];
}

/** The cells of a BioSR-arranged folder or a mapping .json file. */
export function listCells(acquisitions: string): Listing {
  if (!existsSync(acquisitions)) throw new InputFileError(acquisitions, 'no such file or folder');
  if (statSync(acquisitions).isFile()) {
    if (!acquisitions.toLowerCase().endsWith('.json'))
      throw new InputFileError(
        acquisitions,
        'expected a folder of cells (BioSR arrangement) or a mapping file ending in .json',
      );
    return { cells: readMapping(acquisitions), bad: [] };
  }
  const out: Listing = { cells: [], bad: [] };
  walk(acquisitions, acquisitions, 0, out);
  if (out.cells.length === 0 && out.bad.length === 0) {
    throw new InputFileError(
      acquisitions,
      'no cells found: expected folders holding RawSIMData_level_NN.mrc, RawSIMData_gt.mrc and SIM_gt.mrc (the BioSR arrangement, .tif also accepted), or a mapping .json file',
    );
  }
  const order = naturalSort(out.cells.map((c) => c.name));
  out.cells.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return out;
}

function walk(root: string, dir: string, depth: number, out: Listing): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.startsWith('.'));
  } catch (err) {
    throw new InputFileError(dir, `cannot list the folder: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const files = names.filter((n) => kind(join(dir, n)) === 'file');
  const roles = files.filter((n) => LEVEL_RE.test(n) || RAW_GT_RE.test(n) || SR_GT_RE.test(n));
  if (roles.length > 0) {
    const name = relative(root, dir).split(sep).join('/') || '.';
    const cell: CellFiles = { name, levels: new Map(), rawGt: null, srGt: null, where: dir, mapped: false };
    const twice = (role: string, a: string, b: string) =>
      out.bad.push({ cell: name, file: join(dir, b), problem: `a second ${role} beside ${a}: keep one` });
    let ok = true;
    for (const f of naturalSort(roles)) {
      const level = LEVEL_RE.exec(f);
      if (level) {
        const n = Number(level[1]);
        const had = cell.levels.get(n);
        if (had !== undefined) {
          twice(`level ${n} file`, had, f);
          ok = false;
        }
        cell.levels.set(n, join(dir, f));
      } else if (RAW_GT_RE.test(f)) {
        if (cell.rawGt) {
          twice('RawSIMData_gt', cell.rawGt, f);
          ok = false;
        }
        cell.rawGt = join(dir, f);
      } else {
        if (cell.srGt) {
          twice('SIM_gt', cell.srGt, f);
          ok = false;
        }
        cell.srGt = join(dir, f);
      }
    }
    if (ok) out.cells.push(cell);
    return;
  }
  if (depth >= MAX_DEPTH) return;
  for (const n of naturalSort(names)) {
    const p = join(dir, n);
    if (kind(p) === 'dir') walk(root, p, depth + 1, out);
  }
}

/** File, folder, or neither (a broken link, no permission): listing never fails on one entry. */
function kind(path: string): 'file' | 'dir' | null {
  try {
    const s = statSync(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : null;
  } catch {
    return null;
  }
}

function readMapping(file: string): CellFiles[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputFileError(file, `not valid JSON: ${(err as Error).message}`);
  }
  const bad = (field: string, expected: string) => new InputFileError(file, `${field}: expected ${expected}`);
  const cells = (doc as { cells?: unknown } | null)?.cells;
  if (!Array.isArray(cells) || cells.length === 0)
    throw bad('cells', 'a non-empty list of { name, levels, rawGt, srGt }');
  const base = dirname(resolve(file));
  const path = (v: unknown, field: string): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v === '') throw bad(field, 'a file path (relative to the mapping file)');
    return resolve(base, v);
  };
  const names = new Set<string>();
  return cells.map((c, i) => {
    const at = `cells[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad(at, 'an object');
    const o = c as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['name', 'levels', 'rawGt', 'srGt'].includes(k)) throw bad(`${at}.${k}`, 'one of name, levels, rawGt, srGt');
    const name = o.name === undefined ? `cell${i + 1}` : o.name;
    if (typeof name !== 'string' || !/^[\w.-]+$/.test(name))
      throw bad(`${at}.name`, 'a name of letters, digits, _ . -');
    if (names.has(name)) throw bad(`${at}.name`, `a name used once (${name} is used twice)`);
    names.add(name);
    const levels = new Map<number, string>();
    if (Array.isArray(o.levels)) {
      o.levels.forEach((v, j) => {
        levels.set(j + 1, path(v, `${at}.levels[${j}]`) as string);
      });
    } else if (typeof o.levels === 'object' && o.levels !== null) {
      for (const [k, v] of Object.entries(o.levels)) {
        if (!/^\d+$/.test(k) || Number(k) < 1) throw bad(`${at}.levels.${k}`, 'level numbers ≥ 1 as keys');
        levels.set(Number(k), path(v, `${at}.levels.${k}`) as string);
      }
    } else if (o.levels !== undefined) {
      throw bad(`${at}.levels`, 'a list of files, or an object { "level number": file }');
    }
    return {
      name,
      levels,
      rawGt: path(o.rawGt, `${at}.rawGt`),
      srGt: path(o.srGt, `${at}.srGt`),
      where: `${file} ${at} (${name})`,
      mapped: true,
    };
  });
}

/** Parses --levels: "all", or numbers and ranges ("1-3,5"), and for sr "gt" (the high-SNR raw cycle). */
export function parseLevels(text: string, task: PrepareTask): LevelKey[] | 'all' {
  const t = text.trim().toLowerCase();
  if (t === 'all') return 'all';
  const out: LevelKey[] = [];
  for (const part of t.split(',').map((s) => s.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (part === 'gt' && task === 'sr') out.push('gt');
    else if (/^\d+$/.test(part) && Number(part) >= 1) out.push(Number(part));
    else if (range && Number(range[1]) >= 1 && Number(range[1]) <= Number(range[2])) {
      for (let n = Number(range[1]); n <= Number(range[2]); n++) out.push(n);
    } else {
      throw new ParameterError(
        '--levels',
        `"all" or level numbers and ranges such as 1-3,5${task === 'sr' ? ' (and gt)' : ''}`,
        text,
      );
    }
  }
  return [...new Set(out)];
}

/**
 * Checks one cell for a task from its file headers: the files the task needs exist, raw cycles have
 * 9 frames and one size, the SR target 1 frame at twice that size, the raw side at least the patch.
 * Throws an RdlError whose message names the file.
 */
export function checkCell(c: CellFiles, task: PrepareTask, levels: LevelKey[] | 'all', patch: number): Cell {
  const missing = (file: string, role: string): never => {
    throw new InputFileError(c.mapped ? `${c.where}: ${file}` : join(c.where, file), `missing (${role})`);
  };
  const use: LevelKey[] = levels === 'all' ? [...c.levels.keys()].sort((a, b) => a - b) : levels;
  if (use.length === 0)
    missing(c.mapped ? 'levels' : 'RawSIMData_level_01.mrc', 'no noisy raw cycle RawSIMData_level_NN in the cell');
  for (const l of use) {
    if (l === 'gt') continue;
    if (!c.levels.has(l))
      missing(
        c.mapped ? `levels.${l}` : `RawSIMData_level_${String(l).padStart(2, '0')}.mrc`,
        `level ${l} was asked for by --levels; the cell has ${c.levels.size ? [...c.levels.keys()].join(', ') : 'none'}`,
      );
  }
  const needRawGt = task === 'dn' || use.includes('gt');
  if (needRawGt && c.rawGt === null)
    missing(
      c.mapped ? 'rawGt' : 'RawSIMData_gt.mrc',
      task === 'dn'
        ? 'the high-SNR raw cycle, the denoising target'
        : 'the high-SNR raw cycle, asked for by --levels gt',
    );
  if (task === 'sr' && c.srGt === null) missing(c.mapped ? 'srGt' : 'SIM_gt.mrc', 'the SR target');
  const raws = [...use.filter((l): l is number => l !== 'gt').map((l) => c.levels.get(l) as string)];
  if (needRawGt) raws.push(c.rawGt as string);
  let first: { file: string; info: StackInfo } | null = null;
  for (const file of raws) {
    const info = header(file);
    if (info.frames !== 9)
      throw new ShapeError(`${file}: ${info.frames} frames, expected 9 (one SIM cycle: 3 orientations × 3 phases)`);
    if (first === null) first = { file, info };
    else if (info.width !== first.info.width || info.height !== first.info.height)
      throw new ShapeError(
        `${file}: ${info.width}×${info.height} px, but ${first.file} is ${first.info.width}×${first.info.height} (every raw cycle of a cell must have one size)`,
      );
  }
  const raw = (first as { file: string; info: StackInfo }).info;
  let srPixelUm: number | null = null;
  if (task === 'sr') {
    const file = c.srGt as string;
    const info = header(file);
    if (info.frames !== 1) throw new ShapeError(`${file}: ${info.frames} frames, expected 1 (the SR image)`);
    if (info.width !== 2 * raw.width || info.height !== 2 * raw.height)
      throw new ShapeError(
        `${file}: ${info.width}×${info.height} px, expected ${2 * raw.width}×${2 * raw.height} (twice the raw cycles' ${raw.width}×${raw.height})`,
      );
    srPixelUm = info.pixelSizeUm?.x ?? null;
  }
  if (raw.width < patch || raw.height < patch)
    throw new ShapeError(
      `${(first as { file: string }).file}: ${raw.width}×${raw.height} px, smaller than the patch (${patch} px)`,
    );
  return { ...c, use, width: raw.width, height: raw.height, rawPixelUm: raw.pixelSizeUm?.x ?? null, srPixelUm };
}

function header(file: string): StackInfo {
  if (!existsSync(file)) throw new InputFileError(file, 'no such file');
  const r = openStackReader(file);
  r.close();
  if (r.info.dtype === 'complex64') throw new InputFileError(file, 'complex data cannot be trained on');
  return r.info;
}
