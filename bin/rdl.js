#!/usr/bin/env node
// The rdl command. The TypeScript is compiled to dist/ by `npm run setup` (or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('rdl: not built yet. Run `npm ci && npm run setup` in the rdl folder first.');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
