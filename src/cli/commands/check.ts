// `rdl check`: is the engine installed and working? A small end-to-end self-test.
import type { Command } from 'commander';
import { engineInfo, F, fft, noGrad, randn, tidy } from '../../engine/index.js';
import { applyGlobalOptions } from '../options.js';

interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

function runChecks(): CheckResult[] {
  const results: CheckResult[] = [];
  const check = (name: string, fn: () => string) => {
    try {
      results.push({ name, ok: true, detail: fn() });
    } catch (err) {
      results.push({ name, ok: false, detail: (err as Error).message });
    }
  };
  check('convolution forward + backward', () =>
    tidy(() => {
      const x = randn([1, 8, 32, 32], { seed: 1 });
      const w = randn([8, 8, 3, 3], { seed: 2 }).requiresGrad_();
      const y = F.conv2d(x, w, null, { padding: 1 });
      y.square().mean().backward();
      const g = w.grad;
      if (g === null || !(g.abs().sum().item() > 0)) throw new Error('no gradient reached the weights');
      return `gradient norm ${g.square().sum().sqrt().item().toFixed(4)}`;
    }),
  );
  check('FFT round trip', () =>
    noGrad(() =>
      tidy(() => {
        const x = randn([64, 64], { seed: 3 });
        const back = fft.ifft2(fft.fft2(x)).real();
        const err = back.sub(x).abs().max().item();
        if (!(err < 1e-5)) throw new Error(`round-trip error ${err}`);
        return `max error ${err.toExponential(1)}`;
      }),
    ),
  );
  return results;
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check that the engine (libtorch) is installed and working, and show what it runs on')
    .option('--json', 'print the result as JSON')
    .action((opts: { json?: boolean }) => {
      applyGlobalOptions(program);
      const info = engineInfo();
      const results = runChecks();
      const ok = results.every((r) => r.ok);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ok, engine: info, checks: results }, null, 2)}\n`);
      } else {
        const devices = info.cudaAvailable ? `cpu, cuda (${info.cudaDeviceCount} GPU)` : 'cpu';
        const blas = info.openblasThreads === null ? '' : `; OpenBLAS threads: ${info.openblasThreads}`;
        process.stdout.write(
          `libtorch ${info.torchVersion}${info.cudaBuild ? ' (CUDA build)' : ''}; devices: ${devices}; CPU threads: ${info.threads}${blas}\n`,
        );
        for (const r of results) process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}: ${r.detail}\n`);
        process.stdout.write(ok ? 'rdl engine: all checks passed\n' : 'rdl engine: some checks FAILED\n');
      }
      if (!ok) process.exitCode = 1;
    });
}
