#!/usr/bin/env node
// Sets rdl up from the project's own files: finds (or, as root on Debian/Ubuntu, installs)
// libtorch, builds the native addon against it, and compiles the TypeScript.
//   node scripts/setup.mjs               everything
//   node scripts/setup.mjs --native-only the addon only
// Where libtorch comes from is decided by scripts/libtorch.mjs (LIBTORCH, then PyTorch for
// Python when RDL_TORCH_FROM_PYTHON=1, then the system package).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, HOW_TO_FIX, SYSTEM_PACKAGE } from './libtorch.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeOnly = process.argv.includes('--native-only');

function fail(message) {
  console.error(`rdl setup: ${message}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`'${cmd} ${args.join(' ')}' exited with ${r.status}`);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Debian packages the build needs, installed only when missing and only as root. */
function aptInstall(packages) {
  if (!isRoot || !has('apt-get')) {
    fail(`missing: ${packages.join(', ')}. Run: sudo apt-get install -y ${packages.join(' ')}\n${HOW_TO_FIX}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-q'], { env });
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env });
}

// 1. The toolchain node-gyp needs.
const toolchain = [
  ['g++', 'g++'],
  ['make', 'make'],
  ['python3', 'python3'],
].filter(([cmd]) => !has(cmd));
if (toolchain.length) aptInstall(toolchain.map(([, pkg]) => pkg));

// 2. libtorch.
let torch;
try {
  torch = findLibtorch();
} catch (err) {
  fail(err.message);
}
if (!torch) {
  console.log(`rdl setup: no libtorch found; installing the system package ${SYSTEM_PACKAGE}.`);
  aptInstall([SYSTEM_PACKAGE]);
  torch = findLibtorch();
  if (!torch) fail(`${SYSTEM_PACKAGE} was installed but libtorch is still not found.\n${HOW_TO_FIX}`);
}
// 2b. OpenBLAS for the system libtorch. Debian's libtorch only *recommends* it, so a plain
// `apt-get install --no-install-recommends libtorch-dev` leaves libtorch on the reference BLAS
// (netlib), whose matrix products made the 256² SIM fit ~3.7× slower (87 ms instead of 24) and
// slow every network. Installed when no OpenBLAS variant is; a BLAS the user chose is left alone.
if (torch.source.startsWith('system') && has('dpkg-query')) {
  const variants = ['libopenblas0-pthread', 'libopenblas0-openmp', 'libopenblas0-serial'];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax (the package's status line).
  const status = spawnSync('dpkg-query', ['-W', '-f=${Status}\\n', ...variants], { encoding: 'utf8' });
  if (!/install ok installed/.test(status.stdout ?? '')) {
    if (isRoot && has('apt-get')) {
      console.log('rdl setup: libtorch is on the slow reference BLAS; installing OpenBLAS (libopenblas0).');
      aptInstall(['libopenblas0']);
    } else {
      console.warn(
        'rdl setup: warning: libtorch is on the reference BLAS, which makes rdl several times slower. ' +
          'Run: sudo apt-get install -y libopenblas0',
      );
    }
  }
}
console.log(
  `rdl setup: libtorch ${torch.version ?? '(version unknown)'} from ${torch.source}; lib ${torch.libDir}; ` +
    `${torch.cuda ? 'with CUDA' : 'CPU only'}; CXX11 ABI ${torch.cxx11abi}`,
);

// 3. The build configuration, written only when it changes so that rebuilds stay incremental.
const libs = ['-ltorch', '-ltorch_cpu', '-lc10'];
if (torch.cuda) {
  // --no-as-needed: nothing in the addon names a CUDA symbol, yet libtorch_cuda must be loaded
  // for its kernels to register (tch-rs does the same).
  libs.push('-Wl,--no-as-needed', '-ltorch_cuda', '-lc10_cuda', '-Wl,--as-needed');
}
const gypi = {
  variables: {
    torch_include_dirs: torch.includeDirs,
    torch_lib_dir: torch.libDir,
    torch_libraries: libs,
    torch_defines: [`_GLIBCXX_USE_CXX11_ABI=${torch.cxx11abi}`, ...(torch.cuda ? ['RDL_WITH_CUDA=1'] : [])],
  },
};
const gypiPath = join(root, 'native', 'libtorch.gypi');
const gypiText = `${JSON.stringify(gypi, null, 2)}\n`;
const configChanged = !existsSync(gypiPath) || readFileSync(gypiPath, 'utf8') !== gypiText;
if (configChanged) writeFileSync(gypiPath, gypiText);
mkdirSync(join(root, 'build'), { recursive: true });
const infoTmp = join(root, 'build', 'libtorch.json.tmp');
writeFileSync(infoTmp, `${JSON.stringify(torch, null, 2)}\n`);
renameSync(infoTmp, join(root, 'build', 'libtorch.json'));

// 4. The addon. node-gyp builds against the local Node headers when they are installed (Debian's
// nodejs ships them under /usr/include/node), which needs no download.
const nodeGyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
if (!existsSync(nodeGyp)) fail('node-gyp is not installed: run `npm ci` first.');
const prefix = resolve(dirname(process.execPath), '..');
const gypArgs = existsSync(join(prefix, 'include', 'node', 'common.gypi')) ? [`--nodedir=${prefix}`] : [];
if (configChanged || !existsSync(join(root, 'build', 'Makefile'))) {
  run(process.execPath, [nodeGyp, 'configure', ...gypArgs]);
}
run(process.execPath, [nodeGyp, 'build', `-j${Math.max(1, cpus().length)}`, ...gypArgs]);

// 5. The TypeScript.
if (!nativeOnly) {
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
  const version = execFileSync(process.execPath, [join(root, 'bin', 'rdl.js'), '--version'], { encoding: 'utf8' });
  console.log(`rdl setup: done (rdl ${version.trim()}).`);
}
