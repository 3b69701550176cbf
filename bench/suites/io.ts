// File-format benchmarks: reading a 1 GiB uint16 stack (1024×1024×512) from MRC and from an
// uncompressed TIFF, in MB/s, beside a 1 GiB in-memory copy (Buffer.copy) — the ceiling. Files
// live in os.tmpdir() and are removed afterwards. Reads after the first hit the page cache, so
// these measure the readers, not the disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMrc, writeMrc } from '../../src/io/mrc.js';
import { readTiff, writeTiff } from '../../src/io/tiff.js';
import { type Benchmark, summarize, timeMs } from '../harness.js';

const NX = 1024;
const NY = 1024;
const NZ = 512;
const BYTES = NX * NY * NZ * 2;
const MB = 1e6;

/** MB/s samples of fn reading BYTES. */
function throughput(fn: () => void): number[] {
  return timeMs(fn, { warmup: 1, minIters: 3, minMs: 0, maxIters: 3 }).map((ms) => BYTES / MB / (ms / 1000));
}

function withStack(run: (data: Uint16Array, dir: string) => number[]): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'rdl-bench-io-'));
  try {
    const data = new Uint16Array(NX * NY * NZ);
    for (let i = 0; i < data.length; i += 4099) data[i] = i & 0xffff;
    return run(data, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const ioBenchmarks: Benchmark[] = [
  {
    name: 'io.memcpy_1GB',
    run: () => {
      const a = Buffer.alloc(BYTES, 1);
      const b = Buffer.allocUnsafe(BYTES);
      const s = throughput(() => a.copy(b));
      return [summarize('io.memcpy_1GB', 'MB/s', s)];
    },
  },
  {
    name: 'io.mrc_read_1GB',
    run: () => {
      const s = withStack((data, dir) => {
        const path = join(dir, 'stack.mrc');
        writeMrc(path, data, { nx: NX, ny: NY, nz: NZ });
        return throughput(() => {
          if (readMrc(path).data.length !== data.length) throw new Error('short read');
        });
      });
      return [summarize('io.mrc_read_1GB', 'MB/s', s)];
    },
  },
  {
    name: 'io.tiff_read_1GB',
    run: () => {
      const s = withStack((data, dir) => {
        const path = join(dir, 'stack.tif');
        writeTiff(path, data, { width: NX, height: NY, pages: NZ });
        return throughput(() => {
          if (readTiff(path).data.length !== data.length) throw new Error('short read');
        });
      });
      return [summarize('io.tiff_read_1GB', 'MB/s', s)];
    },
  },
];
