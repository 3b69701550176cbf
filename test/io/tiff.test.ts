import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InputFileError, OutputError } from '../../src/errors.js';
import { readTiff, readTiffInfo, type TiffData, TiffReader, writeTiff } from '../../src/io/tiff.js';
import { lzwDecode, packBitsDecode } from '../../src/io/tiff-codecs.js';
import { assertClose, fixture } from '../helpers.js';
import { floatValues, H, P, uintValues, W } from './formula.js';
import { tempDir } from './tmp.js';

const tmp = tempDir('tiff');

describe('TIFF files written by other software (tools/make_io_fixtures.py)', () => {
  const u16 = uintValues(16);
  const u8 = uintValues(8);
  const cases: Array<[string, string, number[], string]> = [
    ['imagej_u16.tif', 'uint16', u16, 'none'],
    ['deflate_pred_u16.tif', 'uint16', u16, 'deflate (Adobe)'],
    ['deflate_old_u8.tif', 'uint8', u8, 'deflate (old)'],
    ['adobe_deflate_u8.tif', 'uint8', u8, 'deflate (Adobe)'],
    ['bigendian_u16.tif', 'uint16', u16, 'deflate (Adobe)'],
    ['bigtiff_u16.tif', 'uint16', u16, 'none'],
    ['int32_i32.tif', 'int32', u16.map((v) => v - 30000), 'none'],
    ['lzw_u16.tif', 'uint16', u16, 'LZW'],
    ['packbits_u8.tif', 'uint8', u8, 'PackBits'],
  ];
  for (const [name, dtype, expected, compression] of cases) {
    it(`${name}: ${dtype}, ${compression}`, () => {
      const { info, data } = readTiff(fixture(`io/${name}`));
      assert.deepEqual(
        [info.width, info.height, info.pages, info.dtype, info.compression],
        [W, H, P, dtype, compression],
      );
      assert.deepEqual(Array.from(data), expected);
    });
  }
  it('big-endian float32', () => {
    const { info, data } = readTiff(fixture('io/bigendian_f32.tif'));
    assert.equal(info.littleEndian, false);
    assert.ok(data instanceof Float32Array);
    assertClose(data, floatValues(), 0);
  });
  it('BigTIFF header is recognized', () => assert.equal(readTiffInfo(fixture('io/bigtiff_u16.tif')).bigTiff, true));
  it('tiled image', () => {
    const { info, data } = readTiff(fixture('io/tiled_u16.tif'));
    assert.deepEqual([info.width, info.height, info.pages], [W, H, 1]);
    assert.deepEqual(Array.from(data), uintValues(16, 1));
  });
  it('ImageJ metadata from tifffile: axes, pixel size and z spacing', () => {
    const info = readTiffInfo(fixture('io/imagej_u16.tif'));
    assert.deepEqual([info.imagej?.images, info.imagej?.slices, info.imagej?.unit], [3, 3, 'micron']);
    assertClose([info.pixelSizeUm!.x, info.pixelSizeUm!.y, info.pixelSizeUm!.z!], [0.0626, 0.0626, 0.16], 1e-6);
  });
  it('a page range reads only those pages', () => {
    const { data } = readTiff(fixture('io/lzw_u16.tif'), { pages: [1, 3] });
    assert.deepEqual(Array.from(data), u16.slice(W * H));
  });
});

describe('TIFF round trips (rdl writes, rdl reads)', () => {
  const n = 7 * 5 * 6;
  const make: Array<[string, TiffData]> = [
    ['uint8', Uint8Array.from({ length: n }, (_, i) => (i * 7) % 256)],
    ['int8', Int8Array.from({ length: n }, (_, i) => ((i * 7) % 256) - 128)],
    ['uint16', Uint16Array.from({ length: n }, (_, i) => (i * 977) % 65536)],
    ['int16', Int16Array.from({ length: n }, (_, i) => ((i * 977) % 65536) - 32768)],
    ['uint32', Uint32Array.from({ length: n }, (_, i) => i * 14_000_017)],
    ['int32', Int32Array.from({ length: n }, (_, i) => i * 7_000_003 - 2 ** 31)],
    ['float32', Float32Array.from({ length: n }, (_, i) => Math.fround(Math.cos(i) * 1e3))],
  ];
  for (const [dtype, data] of make) {
    for (const bigTiff of [false, true]) {
      it(`${dtype}${bigTiff ? ', BigTIFF' : ''}`, () => {
        const path = tmp.file(`${dtype}-${bigTiff}.tif`);
        writeTiff(
          path,
          data,
          { width: 7, height: 5, pages: 6 },
          { bigTiff, pixelSizeUm: { x: 0.0313, y: 0.0313, z: 0.5 } },
        );
        const { info, data: back } = readTiff(path);
        assert.deepEqual([info.width, info.height, info.pages, info.dtype, info.bigTiff], [7, 5, 6, dtype, bigTiff]);
        assert.equal(back.constructor, data.constructor);
        assert.deepEqual(Array.from(back), Array.from(data));
        assertClose([info.pixelSizeUm!.x, info.pixelSizeUm!.y, info.pixelSizeUm!.z!], [0.0313, 0.0313, 0.5], 1e-6);
      });
    }
  }
  it('hyperstack axes are written as ImageJ reads them', () => {
    const path = tmp.file('hyper.tif');
    writeTiff(
      path,
      new Uint16Array(4 * 4 * 18),
      { width: 4, height: 4, pages: 18 },
      { axes: { channels: 2, slices: 3, frames: 3 } },
    );
    const info = readTiffInfo(path);
    assert.deepEqual(info.imagej, {
      images: 18,
      channels: 2,
      slices: 3,
      frames: 3,
      unit: undefined,
      spacing: undefined,
      finterval: undefined,
    });
    assert.match(info.description, /^ImageJ=.*\nimages=18\nchannels=2\nslices=3\nframes=3\nhyperstack=true\n/s);
    assert.equal(info.pixelSizeUm, null);
  });
  it('refuses to overwrite an input', () => {
    const path = tmp.file('in.tif');
    writeTiff(path, new Uint8Array(4), { width: 2, height: 2, pages: 1 });
    assert.throws(
      () => writeTiff(path, new Uint8Array(4), { width: 2, height: 2, pages: 1 }, { inputs: [path] }),
      OutputError,
    );
  });
});

describe('TIFF codecs', () => {
  it('PackBits decodes literal and repeat runs', () => {
    // From Apple's TN1023 example.
    const src = Uint8Array.from([
      0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa,
    ]);
    const out = packBitsDecode(src, 24);
    assert.deepEqual(Array.from(out), [
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0xaa,
      0xaa,
      0xaa,
      0xaa,
      0x80,
      0x00,
      0x2a,
      0x22,
      ...Array(10).fill(0xaa),
    ]);
  });
  it('LZW refuses a code that was never defined', () => {
    assert.throws(() => lzwDecode(Uint8Array.from([0x80, 0x3f, 0xff, 0xff]), 100), /corrupt/);
  });
});

describe('TIFF bad input', () => {
  const good = readFileSync(fixture('io/deflate_pred_u16.tif'));
  const variant = (name: string, f: (b: Buffer) => Buffer) => {
    const p = tmp.file(name);
    writeFileSync(p, f(Buffer.from(good)));
    return p;
  };
  const expectError = (p: string, re: RegExp) =>
    assert.throws(
      () => readTiff(p),
      (e: unknown) => e instanceof InputFileError && e.file === p && re.test(e.problem),
    );
  it('wrong magic', () =>
    expectError(
      variant('magic.tif', (b) => b.fill(0x20, 0, 4)),
      /not a TIFF file/,
    ));
  it('truncated', () =>
    expectError(
      variant('trunc.tif', (b) => b.subarray(0, 300)),
      /beyond the end of the file|ends at byte/,
    ));
  it('too short', () =>
    expectError(
      variant('short.tif', (b) => b.subarray(0, 5)),
      /too short/,
    ));
  it('unsupported compression', () => {
    const plain = readFileSync(fixture('io/imagej_u16.tif'));
    // Rewrite every Compression tag (259, SHORT) value to 7 (JPEG).
    const p = tmp.file('jpeg.tif');
    const b = Buffer.from(plain);
    for (let i = 0; i + 12 <= b.length; i += 2)
      if (b.readUInt16LE(i) === 259 && b.readUInt16LE(i + 2) === 3) b.writeUInt16LE(7, i + 8);
    writeFileSync(p, b);
    expectError(p, /compression 7 is not supported/);
  });
  it('corrupt deflate data', () => {
    const plain = readFileSync(fixture('io/deflate_pred_u16.tif'));
    const b = Buffer.from(plain);
    const reader = new TiffReader(fixture('io/deflate_pred_u16.tif'));
    const strip = reader.pages[0]!.offsets[0]!;
    reader.close();
    b.fill(0xff, strip, strip + 40);
    const p = tmp.file('corrupt.tif');
    writeFileSync(p, b);
    expectError(p, /deflate data is corrupt|decodes to/);
  });
});
