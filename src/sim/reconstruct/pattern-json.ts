// Reading illumination parameters in the `rdl estimate --json` format: one group
// {"cycles"?: [first, last], "orientations": [{k0PerUm, phaseRad, modulation?, modamp?, …}]},
// or an array of groups (`--all-cycles`), each applying to its cycles. Every problem names the
// field, e.g. `params.json: orientations[1].phaseRad: expected a finite number (rad), got nothing`.
import { readFileSync } from 'node:fs';
import { InputFileError, ParameterError } from '../../errors.js';
import { modulationDepth } from '../illumination.js';
import type { WienerPattern } from './wiener.js';

export interface PatternGroup {
  /** Cycles [first, last] the group applies to; null: all. */
  cycles: [number, number] | null;
  orientations: WienerPattern[];
}

export function readPatternFile(path: string, orientations: number): PatternGroup[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not a readable JSON file (${(err as Error).message})`);
  }
  return parsePatterns(parsed, orientations, path);
}

export function parsePatterns(value: unknown, orientations: number, where = 'parameters'): PatternGroup[] {
  const groups = Array.isArray(value) ? value : [value];
  if (groups.length === 0) throw new ParameterError(where, 'at least one group of orientations', value);
  return groups.map((g, i) => parseGroup(g, orientations, Array.isArray(value) ? `${where}[${i}]` : where));
}

function parseGroup(g: unknown, n: number, where: string): PatternGroup {
  if (g === null || typeof g !== 'object' || Array.isArray(g)) {
    throw new ParameterError(where, 'an object with "orientations" (the rdl estimate --json format)', g);
  }
  const obj = g as Record<string, unknown>;
  const list = obj.orientations;
  if (!Array.isArray(list) || list.length !== n) {
    throw new ParameterError(`${where}.orientations`, `an array of ${n} orientations`, list);
  }
  let cycles: [number, number] | null = null;
  if (obj.cycles !== undefined) {
    const c = obj.cycles;
    if (!Array.isArray(c) || c.length !== 2 || !c.every((v) => Number.isInteger(v) && v >= 0) || c[0] > c[1]) {
      throw new ParameterError(`${where}.cycles`, '[first, last] cycle indices (integers ≥ 0)', c);
    }
    cycles = [c[0], c[1]];
  }
  return { cycles, orientations: list.map((o, d) => parseOrientation(o, `${where}.orientations[${d}]`)) };
}

function parseOrientation(o: unknown, where: string): WienerPattern {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ParameterError(where, 'an object', o);
  const r = o as Record<string, unknown>;
  const k = r.k0PerUm;
  if (!Array.isArray(k) || k.length !== 2 || !k.every(isFiniteNum) || Math.hypot(k[0], k[1]) === 0) {
    throw new ParameterError(`${where}.k0PerUm`, '[kx, ky] in cycles/µm (finite, not both 0)', k);
  }
  if (!isFiniteNum(r.phaseRad)) throw new ParameterError(`${where}.phaseRad`, 'a finite number (rad)', r.phaseRad);
  let modulation: number | undefined;
  if (r.modulation !== undefined) {
    if (!(isFiniteNum(r.modulation) && r.modulation >= 0)) {
      throw new ParameterError(`${where}.modulation`, 'a number ≥ 0', r.modulation);
    }
    modulation = r.modulation;
  } else if (r.modamp !== undefined) {
    const a = r.modamp;
    if (!Array.isArray(a) || a.length !== 2 || !a.every(isFiniteNum)) {
      throw new ParameterError(`${where}.modamp`, '[re, im]', a);
    }
    modulation = modulationDepth(Math.hypot(a[0], a[1]));
  }
  return { k0PerUm: [k[0], k[1]], phaseRad: r.phaseRad, ...(modulation === undefined ? {} : { modulation }) };
}

function isFiniteNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The group that covers cycle c. A lone group covers every cycle (one fit describes the setup's
 * pattern, as `rdl estimate --json` on one cycle gives); with several (`--all-cycles`), each covers
 * its own cycles and a cycle outside all of them has none.
 */
export function groupForCycle(groups: readonly PatternGroup[], c: number): PatternGroup | null {
  if (groups.length === 1) return groups[0]!;
  return groups.find((g) => g.cycles === null || (c >= g.cycles[0] && c <= g.cycles[1])) ?? null;
}
