// The source layout holds: no import circle between files of src/, and no layer imports from a
// layer to its right (README "Layout"). Reads the TypeScript sources, so it needs no engine.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.js';

const SRC = join(ROOT, 'src');

/** What each top folder of src/ may import (besides itself); errors.ts and version.ts are open to all. */
const ALLOWED: Record<string, string[]> = {
  io: [],
  engine: ['io'],
  sim: ['io', 'engine'],
  metrics: ['io', 'engine'],
  nn: ['io', 'engine'],
  models: ['io', 'engine', 'nn'],
  train: ['io', 'engine', 'sim', 'metrics', 'nn', 'models'],
  pipelines: ['io', 'engine', 'sim', 'metrics', 'nn', 'models', 'train'],
  cli: ['io', 'engine', 'sim', 'metrics', 'nn', 'models', 'train', 'pipelines'],
};
const OPEN = new Set(['errors.ts', 'version.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') ? [relative(SRC, p)] : [];
  });
}

/** Relative imports of a file (type-only ones included: a circle of types is still a circle to a reader). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    out.push(relative(SRC, resolve(join(SRC, dirname(file)), (m[1] as string).replace(/\.js$/, '.ts'))));
  }
  return out;
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every relative import of src/ names an existing file', () => {
  const known = new Set(files);
  for (const [f, deps] of graph)
    for (const d of deps) assert.ok(known.has(d), `${f} imports ${d}, which does not exist`);
});

test('no import circle between files of src/', () => {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      assert.fail(`import circle: ${[...stack.slice(stack.indexOf(f)), f].join(' → ')}`);
    }
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) visit(d);
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) visit(f);
});

test('no layer imports from a layer to its right', () => {
  for (const [f, deps] of graph) {
    const layer = f.split('/')[0] as string;
    if (OPEN.has(layer)) {
      assert.deepEqual(deps, [], `${f} is imported by every layer and must import none`);
      continue;
    }
    const allowed = ALLOWED[layer];
    assert.ok(allowed, `src/${layer} is not a known layer: add it to the README's layout and to this test`);
    for (const d of deps) {
      const to = d.split('/')[0] as string;
      assert.ok(to === layer || OPEN.has(to) || allowed.includes(to), `src/${f} (layer ${layer}) imports src/${d}`);
    }
  }
});

test('the test sees the moved folders (the circle check runs on real files)', () => {
  assert.ok(files.includes('sim/fit/estimate.ts'));
  assert.ok(files.includes('sim/reconstruct/wiener.ts'));
  assert.ok(files.length > 80, `only ${files.length} source files found under ${SRC}`);
});
