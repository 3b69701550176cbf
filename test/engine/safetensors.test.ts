// safetensors: round trips for every dtype, the exact byte layout of the format, bad files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadSafetensors, saveSafetensors, tensor, tidy } from '../../src/engine/index.js';
import { InputFileError } from '../../src/errors.js';
import { values } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rdl-st-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('safetensors', () => {
  it('round-trips every dtype with metadata', () =>
    tidy(() => {
      const src = {
        f32: tensor(new Float32Array([1.5, -2.25, 3]), [3]),
        f64: tensor(new Float64Array([Math.PI, -1e300]), [2, 1]),
        f16: tensor(new Float32Array([0.5, -65504, 6.103515625e-5, 1e-7]), [4], { dtype: 'float16' }),
        bf16: tensor(new Float32Array([1, -3.140625, 1e30]), [3], { dtype: 'bfloat16' }),
        i64: tensor(new BigInt64Array([1n, -(2n ** 40n)]), [2]),
        i32: tensor(new Int32Array([7, -7]), [2]),
        u8: tensor(new Uint8Array([0, 255]), [2]),
        flags: tensor(new Uint8Array([1, 0, 1]), [3], { dtype: 'bool' }),
      };
      const path = join(dir, 'all.safetensors');
      saveSafetensors(path, src, { format: 'pt', note: 'ünïcode' });
      const back = loadSafetensors(path);
      assert.deepEqual(back.metadata, { format: 'pt', note: 'ünïcode' });
      for (const [name, t] of Object.entries(src)) {
        const r = back.tensors[name]!;
        assert.equal(r.dtype, t.dtype, name);
        assert.deepEqual(r.shape, t.shape, name);
        assert.deepEqual(values(r), values(t), name);
      }
      // float16 subnormal 2^-24 ≈ 5.96e-8 is the nearest to 1e-7: the file holds real f16 bits.
      assert.equal(values(back.tensors.f16!)[3], 2 ** -24 * 2);
      for (const t of Object.values(back.tensors)) t.dispose();
    }));
  it('writes the documented layout: u64 header length, JSON header, aligned little-endian data', () =>
    tidy(() => {
      const path = join(dir, 'layout.safetensors');
      saveSafetensors(path, { b: tensor(new Float32Array([1]), [1]), a: tensor(new Int16Array([-2, 3]), [2]) });
      const buf = readFileSync(path);
      const n = Number(buf.readBigUInt64LE(0));
      assert.equal((8 + n) % 8, 0);
      const header = JSON.parse(buf.subarray(8, 8 + n).toString());
      assert.deepEqual(header, {
        a: { dtype: 'I16', shape: [2], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      });
      const data = buf.subarray(8 + n);
      assert.equal(data.readInt16LE(0), -2);
      assert.equal(data.readInt16LE(2), 3);
      assert.equal(data.readFloatLE(4), 1);
    }));
  it('reads a file written by hand to the specification', () => {
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F64', shape: [2], data_offsets: [0, 16] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const data = Buffer.alloc(16);
    data.writeDoubleLE(0.25, 0);
    data.writeDoubleLE(-8, 8);
    const path = join(dir, 'hand.safetensors');
    writeFileSync(path, Buffer.concat([len, header, data]));
    const f = loadSafetensors(path);
    assert.deepEqual(values(f.tensors.w!), [0.25, -8]);
    f.tensors.w!.dispose();
  });
  it('rejects damaged files with the file name and the problem', () => {
    const good = join(dir, 'hand.safetensors');
    const bytes = readFileSync(good);
    const cases: Array<[string, Buffer, RegExp]> = [
      ['short', bytes.subarray(0, 4), /too short/],
      ['truncated', bytes.subarray(0, bytes.length - 3), /offsets \[0, 16\] do not fit/],
      [
        'bad-length',
        Buffer.concat([Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]), bytes.subarray(8)]),
        /header length/,
      ],
      [
        'bad-json',
        Buffer.concat([bytes.subarray(0, 8), Buffer.from('{'.padEnd(bytes.length - 8, 'x'))]),
        /not valid JSON/,
      ],
    ];
    for (const [name, content, why] of cases) {
      const path = join(dir, `${name}.safetensors`);
      writeFileSync(path, content);
      assert.throws(
        () => loadSafetensors(path),
        (e: Error) => e instanceof InputFileError && e.message.startsWith(path) && why.test(e.message),
        name,
      );
    }
    assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), InputFileError);
  });
});
