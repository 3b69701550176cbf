import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { OutputError, ParameterError, ShapeError } from '../../src/errors.js';
import { readMrc, readMrcHeader, writeMrc } from '../../src/io/mrc.js';
import { readImageStack, type StackData, writeImageStack } from '../../src/io/stack.js';
import { openStackWriter } from '../../src/io/stack-writer.js';
import { readTiff, readTiffInfo, writeTiff } from '../../src/io/tiff.js';
import { assertClose } from '../helpers.js';
import { tempDir } from './tmp.js';

const tmp = tempDir('stack-writer');
let folders = 0;
/** A fresh empty folder, so "no file left" can be checked by listing it (temp files start with a dot). */
const folder = () => {
  const d = join(tmp.dir, `d${folders++}`);
  mkdirSync(d);
  return d;
};

/** Writes data through a stack writer in pieces of `chunks` frames each. */
function writeInPieces(w: ReturnType<typeof openStackWriter>, data: StackData, frameLen: number, chunks: number[]) {
  let at = 0;
  for (const k of chunks) {
    w.write(data.subarray(at * frameLen, (at + k) * frameLen));
    at += k;
    assert.equal(w.framesWritten, at);
  }
  w.commit();
}

describe('openStackWriter: MRC', () => {
  const [nx, ny, nz] = [6, 5, 4];
  const frame = nx * ny;
  /** An MRC with two labels, a 64-byte extended header of 0xab and 0.1/0.2/0.3 µm spacing. */
  const makeTemplate = (dir: string) => {
    const src = join(dir, 'src.mrc');
    writeMrc(
      src,
      new Uint16Array(frame * 2),
      { nx, ny, nz: 2 },
      {
        pixelSizeUm: { x: 0.1, y: 0.2, z: 0.3 },
        labels: ['first', 'second'],
      },
    );
    const b = readFileSync(src);
    const withExt = Buffer.concat([b.subarray(0, 1024), Buffer.alloc(64, 0xab), b.subarray(1024)]);
    withExt.writeInt32LE(64, 92);
    writeFileSync(src, withExt);
    return src;
  };
  const float = Float32Array.from({ length: frame * nz }, (_, i) => Math.fround(Math.sin(i) * 100 + i / 7));
  const u16 = Uint16Array.from({ length: frame * nz }, (_, i) => (i * 977) % 65536);

  for (const [name, data, dtype] of [
    ['float32', float, 'float32'],
    ['uint16', u16, 'uint16'],
  ] as const) {
    it(`${name} in several writes keeps the template header and equals writeMrc`, () => {
      const dir = folder();
      const src = makeTemplate(dir);
      const out = join(dir, 'out.mrc');
      const w = openStackWriter(out, { width: nx, height: ny, frames: nz }, dtype, { template: src, inputs: [src] });
      assert.equal(w.path, out);
      writeInPieces(w, data, frame, [1, 2, 1]);
      const { header, data: back } = readMrc(out);
      assert.deepEqual(Array.from(back), Array.from(data));
      assert.deepEqual([header.nx, header.ny, header.nz, header.next], [nx, ny, nz, 64]);
      assert.deepEqual(header.labels, ['first', 'second']);
      assertClose([header.pixelSizeUm!.x, header.pixelSizeUm!.y, header.pixelSizeUm!.z!], [0.1, 0.2, 0.3], 1e-7);
      assert.ok(
        readFileSync(out)
          .subarray(1024, 1088)
          .every((x) => x === 0xab),
        'extended header kept',
      );
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      let sum = 0;
      for (const x of data) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
        sum += x;
      }
      assert.deepEqual([header.dmin, header.dmax], [Math.fround(lo), Math.fround(hi)]);
      assertClose([header.dmean], [sum / data.length], 1e-3);
      // Statistics accumulate in one running sum: byte for byte what writeMrc writes in one call.
      const whole = join(dir, 'whole.mrc');
      writeMrc(whole, data, { nx, ny, nz }, { template: src });
      assert.deepEqual(readFileSync(out), readFileSync(whole));
      // The header object works as a template too (byte order and raw bytes kept).
      const viaHeader = join(dir, 'via-header.mrc');
      const w2 = openStackWriter(viaHeader, { width: nx, height: ny, frames: nz }, dtype, {
        template: readMrcHeader(src),
      });
      writeInPieces(w2, data, frame, [3, 1]);
      assert.deepEqual(readFileSync(viaHeader), readFileSync(whole));
    });
  }

  it('a template path is an input: writing over it is refused', () => {
    const dir = folder();
    const src = makeTemplate(dir);
    assert.throws(
      () => openStackWriter(src, { width: nx, height: ny, frames: 1 }, 'uint16', { template: src }),
      OutputError,
    );
    assert.deepEqual(readdirSync(dir), ['src.mrc']);
  });

  it('refuses an array of another type than opened with', () => {
    const dir = folder();
    const w = openStackWriter(join(dir, 'x.mrc'), { width: nx, height: ny, frames: nz }, 'uint16');
    assert.throws(() => w.write(new Float32Array(frame)), ParameterError);
    assert.throws(() => w.write(new Uint16Array(frame + 1)), ParameterError, 'not whole frames');
    assert.throws(() => w.write(new Uint16Array(frame * (nz + 1))), ParameterError, 'more frames than opened for');
    w.abort();
    assert.deepEqual(readdirSync(dir), []);
    assert.throws(
      () => openStackWriter(join(dir, 'x.mrc'), { width: 2, height: 2, frames: 1 }, 'uint32'),
      ParameterError,
    );
  });
});

describe('openStackWriter: TIFF', () => {
  const [width, height, pages] = [7, 5, 6];
  const frame = width * height;
  const data = Int16Array.from({ length: frame * pages }, (_, i) => ((i * 977) % 60000) - 30000);
  const axes = { channels: 2, slices: 1, frames: 3 };
  const px = { x: 0.0313, y: 0.0313, z: 0.5 };
  for (const bigTiff of [false, true]) {
    it(`ImageJ axes, pixel size and range in several writes, equal to writeTiff${bigTiff ? ' (BigTIFF)' : ''}`, () => {
      const dir = folder();
      const out = join(dir, 'out.tif');
      const w = openStackWriter(out, { width, height, frames: pages }, 'int16', {
        pixelSizeUm: px,
        tiffAxes: axes,
        bigTiff,
      });
      writeInPieces(w, data, frame, [2, 3, 1]);
      const { info, data: back } = readTiff(out);
      assert.ok(back instanceof Int16Array);
      assert.deepEqual(Array.from(back), Array.from(data));
      assert.deepEqual([info.width, info.height, info.pages, info.bigTiff], [width, height, pages, bigTiff]);
      assert.deepEqual([info.imagej?.channels, info.imagej?.slices, info.imagej?.frames], [2, 1, 3]);
      assertClose([info.pixelSizeUm!.x, info.pixelSizeUm!.y, info.pixelSizeUm!.z!], [0.0313, 0.0313, 0.5], 1e-6);
      const min = Math.min(...data);
      const max = Math.max(...data);
      // The description is the string alone: its NUL padding is not part of the tag.
      assert.match(info.description, new RegExp(`\nmin=${min}\nmax=${max}\n$`));
      assert.ok(!info.description.includes('\0'));
      const whole = join(dir, 'whole.tif');
      writeTiff(whole, data, { width, height, pages }, { pixelSizeUm: px, axes, bigTiff });
      assert.deepEqual(readFileSync(out), readFileSync(whole));
    });
  }

  it('the input TiffInfo.imagej is accepted as axes; a page count that does not fit them is refused at open', () => {
    const dir = folder();
    const input = join(dir, 'in.tif');
    writeTiff(input, data, { width, height, pages }, { axes });
    const imagej = readTiffInfo(input).imagej;
    const out = join(dir, 'out.tif');
    const w = openStackWriter(out, { width, height, frames: pages }, 'int16', { tiffAxes: imagej, inputs: [input] });
    writeInPieces(w, data, frame, [6]);
    assert.deepEqual(readTiffInfo(out).imagej, imagej);
    assert.throws(
      () => openStackWriter(join(dir, 'bad.tif'), { width, height, frames: 4 }, 'int16', { tiffAxes: imagej }),
      ParameterError,
    );
    assert.deepEqual(readdirSync(dir).sort(), ['in.tif', 'out.tif']);
  });

  it('BigTIFF is chosen from the dims at open; classic TIFF past 4 GB is refused there', () => {
    const dir = folder();
    const huge = { width: 32768, height: 32768, frames: 3 }; // 6 GiB of uint16, never written
    assert.throws(() => openStackWriter(join(dir, 'h.tif'), huge, 'uint16', { bigTiff: false }), ParameterError);
    const w = openStackWriter(join(dir, 'h.tif'), huge, 'uint16');
    w.abort();
    assert.deepEqual(readdirSync(dir), []);
  });

  it('a float range with extreme values fits the reserved description slot', () => {
    const dir = folder();
    const out = join(dir, 'f.tif');
    const f = Float32Array.of(-3.4028234663852886e38, 1.1754943508222875e-38, -1.2345678e-6, 7);
    const w = openStackWriter(out, { width: 2, height: 2, frames: 1 }, 'float32');
    w.write(f);
    w.commit();
    assert.match(readTiffInfo(out).description, /\nmin=-3\.4028234663852886e\+38\nmax=7\n$/);
    assert.deepEqual(Array.from(readTiff(out).data), Array.from(f));
  });
});

describe('openStackWriter: atomicity and failures at open', () => {
  const dims = { width: 4, height: 3, frames: 3 };
  const data = Uint16Array.from({ length: 36 }, (_, i) => i);
  for (const ext of ['mrc', 'tif']) {
    it(`.${ext}: abort and a commit with too few frames leave no file and no temp file`, () => {
      const dir = folder();
      const path = join(dir, `out.${ext}`);
      const a = openStackWriter(path, dims, 'uint16');
      a.write(data.subarray(0, 12));
      assert.equal(readdirSync(dir).length, 1, 'the temp file exists while writing');
      assert.match(readdirSync(dir)[0]!, new RegExp(`^\\.out\\.${ext}\\.\\d+\\.\\d+\\.tmp$`));
      a.abort();
      a.abort(); // twice: a no-op
      assert.deepEqual(readdirSync(dir), []);
      assert.throws(() => a.write(data.subarray(0, 12)), OutputError, 'closed after abort');

      const b = openStackWriter(path, dims, 'uint16');
      b.write(data.subarray(0, 24));
      assert.throws(() => b.commit(), ShapeError);
      assert.deepEqual(readdirSync(dir), []);
      b.abort();

      const c = openStackWriter(path, dims, 'uint16');
      c.write(data);
      c.commit();
      c.abort(); // after commit: a no-op
      assert.deepEqual(readdirSync(dir), [`out.${ext}`]);
      assert.deepEqual(Array.from(readImageStack(path).data), Array.from(data));
    });

    it(`.${ext}: an existing output is replaced only at commit`, () => {
      const dir = folder();
      const path = join(dir, `out.${ext}`);
      writeImageStack(path, new Uint16Array(36).fill(7), dims);
      const before = readFileSync(path);
      const w = openStackWriter(path, dims, 'uint16');
      w.write(data.subarray(0, 24));
      w.write(data.subarray(24));
      assert.deepEqual(readFileSync(path), before, 'old file intact until commit');
      w.commit();
      assert.deepEqual(Array.from(readImageStack(path).data), Array.from(data));
      assert.deepEqual(readdirSync(dir), [`out.${ext}`]);
    });

    it(`.${ext}: an input path is refused at open`, () => {
      const dir = folder();
      const input = join(dir, `in.${ext}`);
      writeImageStack(input, data, dims);
      assert.throws(
        () => openStackWriter(join(dir, '.', `in.${ext}`), dims, 'uint16', { inputs: [input] }),
        (e: unknown) => e instanceof OutputError && /refusing to overwrite the input/.test(e.message),
      );
      assert.deepEqual(readdirSync(dir), [`in.${ext}`]);
    });

    it(`.${ext}: a missing folder is an OutputError at open naming the path`, () => {
      const path = join(tmp.dir, 'no-such-folder', `out.${ext}`);
      assert.throws(
        () => openStackWriter(path, dims, 'uint16'),
        (e: unknown) => e instanceof OutputError && e.message.includes(path) && /does not exist/.test(e.message),
      );
      assert.equal(existsSync(join(tmp.dir, 'no-such-folder')), false);
    });
  }

  it('an unknown extension is the ParameterError writeImageStack gives', () => {
    const dir = folder();
    assert.throws(() => openStackWriter(join(dir, 'x.png'), dims, 'uint16'), ParameterError);
    assert.deepEqual(readdirSync(dir), []);
  });
});

// readSync is counted through node:fs's CommonJS object; syncBuiltinESMExports makes the readers'
// `import { readSync } from 'node:fs'` see the wrapper.
const fsCjs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
function countBytesRead<T>(f: () => T): { result: T; bytes: number } {
  const orig = fsCjs.readSync;
  let bytes = 0;
  fsCjs.readSync = ((...args: Parameters<typeof orig>) => {
    const n = orig(...args);
    bytes += n;
    return n;
  }) as typeof orig;
  syncBuiltinESMExports();
  try {
    return { result: f(), bytes };
  } finally {
    fsCjs.readSync = orig;
    syncBuiltinESMExports();
  }
}

/** A classic TIFF of deflate-compressed pages, one strip each (the writer only writes uncompressed ones). */
function writeDeflateTiff(path: string, data: Uint16Array, width: number, height: number, pages: number): void {
  const strips = Array.from({ length: pages }, (_, p) => {
    const page = data.subarray(p * width * height, (p + 1) * width * height);
    return deflateSync(new Uint8Array(page.buffer, page.byteOffset, page.byteLength));
  });
  const ifdLen = 2 + 9 * 12 + 4;
  let at = 8;
  const offsets = strips.map((s) => {
    const o = at;
    at += s.length + (s.length & 1);
    return o;
  });
  const out = Buffer.alloc(at + pages * ifdLen);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(at, 4);
  strips.forEach((s, p) => {
    out.set(s, offsets[p]);
  });
  for (let p = 0; p < pages; p++) {
    let o = at + p * ifdLen;
    out.writeUInt16LE(9, o);
    o += 2;
    const tags: Array<[number, number, number]> = [
      [256, 4, width],
      [257, 4, height],
      [258, 3, 16],
      [259, 3, 8], // Adobe deflate
      [262, 3, 1],
      [273, 4, offsets[p]!],
      [277, 3, 1],
      [278, 4, height],
      [279, 4, strips[p]!.length],
    ];
    for (const [tag, type, value] of tags) {
      out.writeUInt16LE(tag, o);
      out.writeUInt16LE(type, o + 2);
      out.writeUInt32LE(1, o + 4);
      if (type === 3) out.writeUInt16LE(value, o + 8);
      else out.writeUInt32LE(value, o + 8);
      o += 12;
    }
    out.writeUInt32LE(p + 1 < pages ? o + 4 : 0, o);
  }
  writeFileSync(path, out);
}

describe('readImageStack with a frame range reads only those frames', () => {
  const [width, height, pages] = [64, 48, 40];
  const pageBytes = width * height * 2;
  // Pseudo-random values, so compressed pages are about as large as raw ones.
  let seed = 12345;
  const data = Uint16Array.from({ length: width * height * pages }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 16;
  });
  const dir = folder();
  const files = {
    mrc: join(dir, 'r.mrc'),
    'uncompressed TIFF': join(dir, 'r.tif'),
    'deflate TIFF': join(dir, 'deflate.tif'),
  };
  writeMrc(files.mrc, data, { nx: width, ny: height, nz: pages });
  writeTiff(files['uncompressed TIFF'], data, { width, height, pages });
  writeDeflateTiff(files['deflate TIFF'], data, width, height, pages);
  for (const [name, path] of Object.entries(files)) {
    it(name, () => {
      const { result, bytes } = countBytesRead(() => readImageStack(path, { frames: [10, 12] }));
      assert.deepEqual(Array.from(result.data), Array.from(data.subarray(10 * width * height, 12 * width * height)));
      // Two pages' data plus headers and IFDs (≈ 120 bytes a page), far below the 40 pages' 245 KB.
      const metadata = 1024 + pages * 200;
      assert.ok(bytes >= 2 * pageBytes * 0.9, `${bytes} bytes read`);
      assert.ok(bytes <= 2 * pageBytes * 1.05 + metadata, `${bytes} bytes read for 2 of ${pages} pages`);
    });
  }
});
