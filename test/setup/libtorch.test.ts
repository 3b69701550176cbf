// The libtorch discovery rules of scripts/libtorch.mjs (used by `npm run setup`).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers.js';

// scripts/ is plain JavaScript that is not compiled into dist/: load it from the source tree.
type Discovery = typeof import('../../scripts/libtorch.mjs');
const { findLibtorch, findSystemLibtorch } = (await import(
  pathToFileURL(`${ROOT}scripts/libtorch.mjs`).href
)) as Discovery;

/** A fake libtorch prefix: the files discovery looks for, nothing more. */
function fakeLibtorch(withCuda: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'rdl-libtorch-'));
  mkdirSync(join(root, 'include', 'ATen'), { recursive: true });
  writeFileSync(join(root, 'include', 'ATen', 'ATen.h'), '');
  mkdirSync(join(root, 'lib'));
  writeFileSync(join(root, 'lib', 'libtorch_cpu.so'), '');
  if (withCuda) writeFileSync(join(root, 'lib', 'libtorch_cuda.so'), '');
  return root;
}
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('libtorch discovery', () => {
  it('takes LIBTORCH first, with its include/lib folders and the C++ ABI flag', () => {
    const root = fakeLibtorch(false);
    made.push(root);
    const found = findLibtorch({ LIBTORCH: root, LIBTORCH_CXX11_ABI: '0', RDL_TORCH_FROM_PYTHON: '1' });
    assert.ok(found);
    assert.equal(found.source, `LIBTORCH=${root}`);
    assert.deepEqual(found.includeDirs, [
      join(root, 'include'),
      join(root, 'include', 'torch', 'csrc', 'api', 'include'),
    ]);
    assert.equal(found.libDir, join(root, 'lib'));
    assert.equal(found.cxx11abi, 0);
    assert.equal(found.cuda, false);
  });
  it('notices a CUDA build by libtorch_cuda.so', () => {
    const root = fakeLibtorch(true);
    made.push(root);
    assert.equal(findLibtorch({ LIBTORCH: root })?.cuda, true);
  });
  it('accepts LIBTORCH_INCLUDE + LIBTORCH_LIB without LIBTORCH', () => {
    const root = fakeLibtorch(false);
    made.push(root);
    const found = findLibtorch({ LIBTORCH_INCLUDE: join(root, 'include'), LIBTORCH_LIB: join(root, 'lib') });
    assert.match(found?.source ?? '', /^LIBTORCH_INCLUDE=/);
    assert.throws(
      () => findLibtorch({ LIBTORCH_LIB: join(root, 'lib') }),
      /Set LIBTORCH, or both LIBTORCH_INCLUDE and LIBTORCH_LIB/,
    );
  });
  it('says how to fix a LIBTORCH that holds no libtorch', () => {
    assert.throws(
      () => findLibtorch({ LIBTORCH: '/nonexistent/libtorch' }),
      (e: Error) => e.message.includes('no ATen/ATen.h') && e.message.includes('apt-get install -y libtorch-dev'),
    );
  });
  it('reports a Python without torch when asked for one', () => {
    assert.throws(
      () => findLibtorch({ RDL_TORCH_FROM_PYTHON: '1', RDL_PYTHON: '/nonexistent/python3' }),
      /RDL_TORCH_FROM_PYTHON=1: '\/nonexistent\/python3 -c "import torch"' failed/,
    );
  });
  it('falls back to the system package', () => {
    assert.deepEqual(findLibtorch({}), findSystemLibtorch());
  });
});
