// Shared test helpers: the test device, closeness assertions, and the shared real data.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../src/engine/index.js';

/** The device tests run on: RDL_DEVICE (e.g. cuda), else cpu. */
export const DEVICE = process.env.RDL_DEVICE ?? 'cpu';

/** Repository root (tests run from dist/test/…). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Folder of the real test data beside the project (never committed into it). */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

/** A file under ../shared/data, or a skip reason when the folder is absent. */
export function sharedFile(rel: string): { path: string; skip: false } | { path: string; skip: string } {
  const path = SHARED_DATA + rel;
  return existsSync(path)
    ? { path, skip: false }
    : { path, skip: `${path} is absent (real data lives in ../shared/data)` };
}

/** A committed fixture under test/fixtures. */
export function fixture(rel: string): string {
  return `${ROOT}test/fixtures/${rel}`;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
  what = 'values',
): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const err = Math.abs(a - e) - rtol * Math.abs(e);
    if (!(err <= atol) && (Number.isNaN(err) || err - atol > worst)) {
      worst = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err - atol;
      at = i;
    }
  }
  if (at >= 0) {
    assert.fail(`${what}: element ${at} is ${actual[at]}, expected ${expected[at]} (atol ${atol}, rtol ${rtol})`);
  }
}

export function values(t: Tensor): number[] {
  return Array.from(t.toArray() as ArrayLike<number>);
}

/** Runs the rdl command as a user would; returns its status, stdout and stderr. */
export function rdl(...args: string[]) {
  return spawnSync(process.execPath, [`${ROOT}bin/rdl.js`, ...args], { encoding: 'utf8' });
}
