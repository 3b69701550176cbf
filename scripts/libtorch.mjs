// Locating libtorch: the one module that both the native build (scripts/setup.mjs) and the
// runtime loader's error messages use. Order, as in tch-rs' torch-sys/build.rs:
//   1. LIBTORCH=/path/to/libtorch (the unpacked C++ archive, or any prefix with include/ and
//      lib/), with LIBTORCH_INCLUDE / LIBTORCH_LIB overriding the two folders and
//      LIBTORCH_CXX11_ABI=0|1 the C++ ABI (default 1);
//   2. a Python PyTorch installation, when asked with RDL_TORCH_FROM_PYTHON=1 (the
//      interpreter is RDL_PYTHON, default python3): its include/lib paths and ABI flag;
//   3. the system install (Debian/Ubuntu package libtorch-dev).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SYSTEM_PACKAGE = 'libtorch-dev';

/** How to get a libtorch, printed whenever none is found. */
export const HOW_TO_FIX = [
  'rdl needs libtorch (the C++ library behind PyTorch). Any one of these works:',
  `  - Debian 12 / Ubuntu 24.04: sudo apt-get install -y ${SYSTEM_PACKAGE}   (then: npm run setup)`,
  '  - an unpacked libtorch archive: LIBTORCH=/path/to/libtorch npm run setup',
  '  - an existing PyTorch for Python (also the way to use a CUDA GPU):',
  '      RDL_TORCH_FROM_PYTHON=1 [RDL_PYTHON=/path/to/python3] npm run setup',
].join('\n');

function libDirHasTorch(dir) {
  return existsSync(join(dir, 'libtorch.so')) || existsSync(join(dir, 'libtorch_cpu.so'));
}

function cudaLibsIn(dir) {
  // A CUDA build ships libtorch_cuda.so (and libc10_cuda.so) beside libtorch_cpu.so.
  return existsSync(join(dir, 'libtorch_cuda.so'));
}

function fromPrefix(source, includeDir, libDir, cxx11abi, version) {
  const api = join(includeDir, 'torch', 'csrc', 'api', 'include');
  if (!existsSync(join(includeDir, 'ATen', 'ATen.h'))) {
    throw new Error(`${source}: no ATen/ATen.h under ${includeDir}\n${HOW_TO_FIX}`);
  }
  if (!libDirHasTorch(libDir)) {
    throw new Error(`${source}: no libtorch.so / libtorch_cpu.so in ${libDir}\n${HOW_TO_FIX}`);
  }
  return {
    source,
    includeDirs: [includeDir, api],
    libDir,
    cxx11abi,
    cuda: cudaLibsIn(libDir),
    version: version ?? null,
  };
}

function fromEnvLibtorch(env) {
  const root = env.LIBTORCH;
  const includeDir = env.LIBTORCH_INCLUDE ?? join(root, 'include');
  const libDir = env.LIBTORCH_LIB ?? join(root, 'lib');
  const abi = env.LIBTORCH_CXX11_ABI === undefined ? 1 : Number(env.LIBTORCH_CXX11_ABI);
  const label = root ? `LIBTORCH=${root}` : `LIBTORCH_INCLUDE=${includeDir}, LIBTORCH_LIB=${libDir}`;
  return fromPrefix(label, includeDir, libDir, abi);
}

function fromPython(env) {
  const python = env.RDL_PYTHON ?? 'python3';
  const script = [
    'import json, os, torch',
    'from torch.utils import cpp_extension as c',
    'print(json.dumps({"include": c.include_paths(), "lib": os.path.join(os.path.dirname(torch.__file__), "lib"),',
    ' "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "version": torch.__version__, "cuda": torch.version.cuda}))',
  ].join('\n');
  let out;
  try {
    out = execFileSync(python, ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(
      `RDL_TORCH_FROM_PYTHON=1: '${python} -c "import torch"' failed: ${String(err.stderr || err.message)
        .trim()
        .split('\n')
        .pop()}\n${HOW_TO_FIX}`,
    );
  }
  const info = JSON.parse(out.trim().split('\n').pop());
  const includeDir = info.include[0];
  const found = fromPrefix(`PyTorch ${info.version} (${python})`, includeDir, info.lib, info.abi, info.version);
  found.includeDirs = info.include;
  return found;
}

function multiarchLibDirs() {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  try {
    const triplet = execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    if (triplet) dirs.unshift(`/usr/lib/${triplet}`);
  } catch {
    // no gcc: the fixed list is enough; the build will say gcc is missing anyway.
  }
  return dirs;
}

/** The system libtorch (Debian's libtorch-dev), or null when it is not installed. */
export function findSystemLibtorch() {
  const includeDir = '/usr/include';
  if (!existsSync(join(includeDir, 'torch', 'csrc', 'api', 'include', 'torch', 'torch.h'))) return null;
  const libDir = multiarchLibDirs().find(libDirHasTorch);
  if (!libDir) return null;
  let version = null;
  const so = readdirSync(libDir).find((f) => /^libtorch_cpu\.so\.\d+\.\d+\.\d+$/.test(f));
  if (so) version = so.replace('libtorch_cpu.so.', '');
  return fromPrefix(`system ${SYSTEM_PACKAGE}`, includeDir, libDir, 1, version);
}

/**
 * Finds libtorch by the rules at the top of this file. Returns null only when rule 3 finds
 * nothing (the caller may then install the system package); throws when LIBTORCH or
 * RDL_TORCH_FROM_PYTHON point at something unusable.
 */
export function findLibtorch(env = process.env) {
  if (env.LIBTORCH || env.LIBTORCH_INCLUDE || env.LIBTORCH_LIB) {
    if (!env.LIBTORCH && !(env.LIBTORCH_INCLUDE && env.LIBTORCH_LIB)) {
      throw new Error('Set LIBTORCH, or both LIBTORCH_INCLUDE and LIBTORCH_LIB.');
    }
    return fromEnvLibtorch(env);
  }
  if (env.RDL_TORCH_FROM_PYTHON === '1') return fromPython(env);
  return findSystemLibtorch();
}
