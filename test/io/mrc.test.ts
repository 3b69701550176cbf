import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InputFileError, OutputError, ParameterError } from '../../src/errors.js';
import { requireFinite } from '../../src/io/binary.js';
import { type MrcData, type MrcHeader, readMrc, readMrcHeader, writeMrc } from '../../src/io/mrc.js';
import { assertClose, fixture, sharedFile } from '../helpers.js';
import { floatValues, H, P, uintValues, W } from './formula.js';
import { tempDir } from './tmp.js';

const tmp = tempDir('mrc');
const dims = { nx: 5, ny: 4, nz: 3 };
const n = 5 * 4 * 3;

function ramp<T extends MrcData>(make: (n: number) => T, f: (i: number) => number, len = n): T {
  const a = make(len);
  for (let i = 0; i < len; i++) a[i] = f(i);
  return a;
}

const cases: Array<{ name: string; mode: number; data: MrcData }> = [
  {
    name: 'mode 0 signed',
    mode: 0,
    data: ramp(
      (k) => new Int8Array(k),
      (i) => i * 4 - 120,
    ),
  },
  {
    name: 'mode 0 unsigned',
    mode: 0,
    data: ramp(
      (k) => new Uint8Array(k),
      (i) => i * 4 + 10,
    ),
  },
  {
    name: 'mode 1',
    mode: 1,
    data: ramp(
      (k) => new Int16Array(k),
      (i) => i * 1000 - 30000,
    ),
  },
  {
    name: 'mode 2',
    mode: 2,
    data: ramp(
      (k) => new Float32Array(k),
      (i) => Math.fround(Math.sin(i) * 1e5),
    ),
  },
  {
    name: 'mode 4',
    mode: 4,
    data: ramp(
      (k) => new Float32Array(k),
      (i) => Math.fround(i % 2 ? -i / 3 : i * 7.5),
      2 * n,
    ),
  },
  {
    name: 'mode 6',
    mode: 6,
    data: ramp(
      (k) => new Uint16Array(k),
      (i) => 65535 - i * 999,
    ),
  },
  // float16-exact values: small integers and halves, a subnormal, and the largest half.
  {
    name: 'mode 12',
    mode: 12,
    data: ramp(
      (k) => new Float32Array(k),
      (i) => (i === 0 ? 2 ** -20 : i === 1 ? 65504 : i / 2 - 10),
    ),
  },
];

describe('MRC round trips', () => {
  for (const c of cases) {
    for (const le of [true, false]) {
      it(`${c.name}, ${le ? 'little' : 'big'}-endian`, () => {
        const path = tmp.file(`${c.mode}-${c.data.constructor.name}-${le}.mrc`);
        const template: MrcHeader = {
          ...dims,
          mode: c.mode,
          mx: 0,
          my: 0,
          mz: 0,
          cellA: [0, 0, 0],
          next: 0,
          littleEndian: le,
          labels: [],
          pixelSizeUm: null,
          dmin: 0,
          dmax: 0,
          dmean: 0,
        };
        writeMrc(path, c.data, dims, {
          mode: c.mode,
          template,
          pixelSizeUm: { x: 0.0626, y: 0.0626, z: 0.16 },
          labels: ['t'],
        });
        const bytes = readFileSync(path);
        assert.equal(bytes[212], le ? 0x44 : 0x11, 'machine stamp');
        const { header, data } = readMrc(path);
        assert.equal(header.littleEndian, le);
        assert.deepEqual([header.nx, header.ny, header.nz, header.mode], [5, 4, 3, c.mode]);
        assert.equal(data.constructor, c.data.constructor);
        assert.deepEqual(Array.from(data), Array.from(c.data));
        assertClose([header.pixelSizeUm!.x, header.pixelSizeUm!.z!], [0.0626, 0.16], 1e-7);
        assert.deepEqual(header.labels, ['t']);
        if (c.mode !== 4) {
          assert.equal(header.dmin, Math.fround(Math.min(...c.data)));
          assert.equal(header.dmax, Math.fround(Math.max(...c.data)));
        }
      });
    }
  }

  it('reads a frame range only', () => {
    const path = tmp.file('frames.mrc');
    const data = ramp(
      (k) => new Uint16Array(k),
      (i) => i,
    );
    writeMrc(path, data, dims);
    const r = readMrc(path, { frames: [1, 3] });
    assert.equal(r.header.nz, 3);
    assert.deepEqual(Array.from(r.data), Array.from(data.subarray(20, 60)));
    assert.throws(() => readMrc(path, { frames: [2, 4] }), ParameterError);
    assert.throws(() => readMrc(path, { frames: [2, 2] }), ParameterError);
  });

  it('keeps the template header: labels, extended header, spacing', () => {
    const src = tmp.file('src.mrc');
    writeMrc(src, new Uint16Array(n), dims, { pixelSizeUm: { x: 0.1, y: 0.2, z: 0.3 }, labels: ['first', 'second'] });
    // Give the source a 64-byte extended header by hand (next at byte 92).
    const b = readFileSync(src);
    const ext = Buffer.alloc(64, 0xab);
    const withExt = Buffer.concat([b.subarray(0, 1024), ext, b.subarray(1024)]);
    withExt.writeInt32LE(64, 92);
    writeFileSync(src, withExt);
    const out = tmp.file('out.mrc');
    const half = new Float32Array(5 * 4).fill(1.5);
    writeMrc(out, half, { nx: 5, ny: 4, nz: 1 }, { template: src });
    const h = readMrcHeader(out);
    assert.deepEqual(h.labels, ['first', 'second']);
    assert.equal(h.next, 64);
    assert.equal(h.mode, 2);
    assert.equal(h.nz, 1);
    assertClose([h.pixelSizeUm!.x, h.pixelSizeUm!.y, h.pixelSizeUm!.z!], [0.1, 0.2, 0.3], 1e-7);
    assert.deepEqual([h.dmin, h.dmax, h.dmean], [1.5, 1.5, 1.5]);
    assert.equal(
      readFileSync(out)
        .subarray(1024, 1088)
        .every((x) => x === 0xab),
      true,
    );
    assert.throws(() => writeMrc(src, half, { nx: 5, ny: 4, nz: 1 }, { template: src }), OutputError);
  });

  it('rejects a data length that does not match the dimensions, and a wrong array type for the mode', () => {
    assert.throws(() => writeMrc(tmp.file('x.mrc'), new Uint16Array(7), dims), ParameterError);
    assert.throws(() => writeMrc(tmp.file('x.mrc'), new Uint16Array(n), dims, { mode: 2 }), ParameterError);
  });
});

describe('MRC files from mrcfile (Python)', () => {
  it('int16 little-endian with a voxel size in Å', () => {
    const { header, data } = readMrc(fixture('io/mrcfile_i16.mrc'));
    assert.ok(data instanceof Int16Array);
    assert.deepEqual(
      Array.from(data),
      uintValues(16).map((v) => v - 20000),
    );
    assert.deepEqual([header.nx, header.ny, header.nz], [W, H, P]);
    assertClose([header.pixelSizeUm!.x, header.pixelSizeUm!.z!], [0.1, 0.2], 1e-7);
  });
  it('float32 big-endian', () => {
    const { header, data } = readMrc(fixture('io/mrcfile_f32_be.mrc'));
    assert.equal(header.littleEndian, false);
    assertClose(data, floatValues(), 1e-5);
  });
  it('mode 0 from an MRC2014 writer is signed', () => {
    const { header, data } = readMrc(fixture('io/mrcfile_i8.mrc'));
    assert.equal(header.signedBytes, true);
    assert.ok(data instanceof Int8Array);
    assert.deepEqual(
      Array.from(data),
      uintValues(8).map((v) => v - 128),
    );
  });
});

describe('MRC files of the reference', () => {
  const mt = sharedFile('rDL-SIM/Microtubules/MT.mrc');
  it('MT.mrc: 256×256×9 uint16, 62.6 nm pixels', { skip: mt.skip }, () => {
    const { header, data } = readMrc(mt.path);
    assert.deepEqual([header.nx, header.ny, header.nz, header.mode], [256, 256, 9, 6]);
    assert.ok(data instanceof Uint16Array);
    assert.equal(header.priism, true);
    assertClose([header.pixelSizeUm!.x, header.pixelSizeUm!.y], [0.0626, 0.0626], 1e-6);
    assert.deepEqual(Array.from(data.subarray(0, 4)), [24126, 22685, 23045, 23045]);
    assert.equal(header.labels[0], 'c18-488-0.3W-1.35-2ms');
    const frame3 = readMrc(mt.path, { frames: [3, 4] }).data;
    assert.deepEqual(Array.from(frame3), Array.from(data.subarray(3 * 65536, 4 * 65536)));
  });
  for (const name of ['TIRF488_cam1_0_z30_OTF2d', 'TIRF560_cam2_0_z21_OTF2d', 'TIRF647_cam2_0_z21_OTF2d']) {
    const otf = sharedFile(`otf/${name}.mrc`);
    it(`${name}: mode 4, 257 complex samples, 0.0312 cycles/µm`, { skip: otf.skip }, () => {
      const { header, data } = readMrc(otf.path);
      assert.deepEqual([header.nx, header.ny, header.nz, header.mode], [257, 1, 1, 4]);
      assert.equal(data.length, 514);
      assertClose([header.cellA[0]], [0.0312], 1e-6);
      assert.equal(data[0], 1); // the OTF is normalized to 1 at zero frequency
      assert.equal(data[1], 0);
    });
  }
  it('writes MT.mrc with its own header, byte for byte outside dimensions and stats', { skip: mt.skip }, () => {
    const { header, data } = readMrc(mt.path, { frames: [0, 2] });
    const out = tmp.file('mt2.mrc');
    writeMrc(out, data, { nx: 256, ny: 256, nz: 2 }, { template: header, inputs: [mt.path] });
    const a = readFileSync(mt.path).subarray(0, 1024);
    const b = readFileSync(out).subarray(0, 1024);
    const differing = [];
    for (let i = 0; i < 1024; i++) if (a[i] !== b[i]) differing.push(i);
    // nz (8), dmin/dmax/dmean (76–87), machine stamp (212), rms (216) may change; nothing else.
    assert.ok(
      differing.every((i) => i === 8 || (i >= 76 && i < 88) || (i >= 212 && i < 220)),
      `bytes ${differing}`,
    );
    assert.equal(statSync(out).size, 1024 + 2 * 65536 * 2);
    assert.throws(
      () => writeMrc(mt.path, data, { nx: 256, ny: 256, nz: 2 }, { template: header, inputs: [mt.path] }),
      OutputError,
    );
  });
});

describe('MRC bad input', () => {
  const good = tmp.file('good.mrc');
  writeMrc(good, new Float32Array(n).fill(1), dims);
  const bytes = readFileSync(good);
  const variant = (name: string, f: (b: Buffer) => Buffer) => {
    const p = tmp.file(name);
    writeFileSync(p, f(Buffer.from(bytes)));
    return p;
  };
  const expectError = (p: string, re: RegExp) =>
    assert.throws(
      () => readMrc(p),
      (e: unknown) => e instanceof InputFileError && e.file === p && re.test(e.problem),
    );
  it('truncated data', () =>
    expectError(
      variant('trunc.mrc', (b) => b.subarray(0, b.length - 1)),
      /truncated/,
    ));
  it('shorter than a header', () =>
    expectError(
      variant('short.mrc', (b) => b.subarray(0, 100)),
      /shorter than the 1024-byte/,
    ));
  it('not an MRC file', () =>
    expectError(
      variant('png.mrc', () => Buffer.alloc(2048, 0x89)),
      /not an MRC file/,
    ));
  it('unsupported mode', () =>
    expectError(
      variant('mode3.mrc', (b) => {
        b.writeInt32LE(3, 12);
        return b;
      }),
      /mode 3 is not supported/,
    ));
  it('absurd dimensions (2³¹ pixels)', () =>
    expectError(
      variant('huge.mrc', (b) => {
        b.writeInt32LE(65536, 0);
        b.writeInt32LE(32768, 4);
        b.writeInt32LE(1, 8);
        return b;
      }),
      /bytes/,
    ));
  it('missing file', () => expectError(tmp.file('absent.mrc'), /cannot open/));
  it('requireFinite names the element', () => {
    const f = new Float32Array([1, Number.NaN]);
    assert.throws(() => requireFinite(f, 'x.mrc'), /x\.mrc: element 1 is NaN/);
    requireFinite(new Uint16Array(3), 'y.mrc');
  });
});
