// A fresh temporary folder per test file, removed at exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix: string): { dir: string; file: (name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), `rdl-${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { dir, file: (name) => join(dir, name) };
}
