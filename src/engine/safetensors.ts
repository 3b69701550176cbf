// safetensors files (https://github.com/huggingface/safetensors format): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__},
// then the raw little-endian tensor bytes. Read by PyTorch, JAX, Rust (candle) and others.
import { readFileSync } from 'node:fs';
import { InputFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { tensor } from './create.js';
import type { DType, Tensor } from './tensor.js';

const TO_FILE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const BYTES: Record<string, number> = {
  F32: 4,
  F64: 8,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const MAX_HEADER = 100 * 1024 * 1024;

export type Metadata = Record<string, string>;

/** Raw little-endian bytes of a tensor in its own dtype. */
function rawBytes(t: Tensor): Uint8Array {
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    // No bit-cast op in the engine: read as float32 (exact for both) and re-encode the bits.
    const data = t.toFloat32Array();
    const encode = t.dtype === 'bfloat16' ? toBf16Bits : toF16Bits;
    const bits = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) bits[i] = encode(data[i] as number);
    return new Uint8Array(bits.buffer);
  }
  if (t.dtype === 'int64') {
    const d = t.toArray() as Float64Array; // int64 arrives as float64: exact below 2^53
    return new Uint8Array(BigInt64Array.from(d, (v) => BigInt(v)).buffer);
  }
  const arr = t.toArray();
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toBf16Bits(v: number): number {
  f32[0] = v;
  return (u32[0] as number) >>> 16; // exact: the value came from bfloat16
}
function toF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return (sign | 0x7c00 | (mant ? 0x200 : 0)) & 0xffff;
  if (exp >= 0x1f) return (sign | 0x7c00) & 0xffff;
  if (exp <= 0) {
    if (exp < -10) return sign & 0xffff;
    const m = (mant | 0x800000) >> (1 - exp);
    return (sign | (m >> 13)) & 0xffff;
  }
  return (sign | (exp << 10) | (mant >> 13)) & 0xffff; // exact: the value came from float16
}

/** Writes named tensors atomically (temporary file, then rename). */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Metadata = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name] as Tensor;
    const code = TO_FILE[t.dtype];
    if (code === undefined) throw new Error(`safetensors: ${name} has dtype ${t.dtype}, which the format cannot hold`);
    const bytes = rawBytes(t);
    header[name] = { dtype: code, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileAtomic(path, [head, Buffer.from(json), ...chunks]);
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Metadata;
}

/** Reads every tensor of a safetensors file onto the CPU (or opts.device). */
export function loadSafetensors(path: string, opts: { device?: string } = {}): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new InputFileError(path, `cannot read: ${(err as Error).message}`);
  }
  if (buf.length < 8) throw new InputFileError(path, 'too short for a safetensors file');
  const n = Number(buf.readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > buf.length) throw new InputFileError(path, `header length ${n} does not fit the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Metadata>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw new InputFileError(path, 'header is not valid JSON');
  }
  const dataStart = 8 + n;
  const tensors: Record<string, Tensor> = {};
  const metadata = (header.__metadata__ ?? {}) as Metadata;
  try {
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const size = BYTES[e.dtype];
      if (size === undefined) throw new InputFileError(path, `tensor ${name} has unsupported dtype ${e.dtype}`);
      const [b, end] = e.data_offsets;
      const count = e.shape.reduce((a, c) => a * c, 1);
      if (end - b !== count * size || dataStart + end > buf.length || b < 0) {
        throw new InputFileError(path, `tensor ${name}: offsets [${b}, ${end}] do not fit its shape or the file`);
      }
      const bytes = new Uint8Array(count * size);
      bytes.set(buf.subarray(dataStart + b, dataStart + end));
      tensors[name] = fromBytes(bytes, e.dtype, e.shape, opts.device ?? 'cpu');
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function fromBytes(bytes: Uint8Array, code: string, shape: number[], device: string): Tensor {
  const b = bytes.buffer;
  switch (code) {
    case 'F32':
      return tensor(new Float32Array(b), shape, { device });
    case 'F64':
      return tensor(new Float64Array(b), shape, { device });
    case 'I32':
      return tensor(new Int32Array(b), shape, { device });
    case 'I16':
      return tensor(new Int16Array(b), shape, { device });
    case 'I8':
      return tensor(new Int8Array(b), shape, { device });
    case 'U8':
      return tensor(bytes, shape, { device });
    case 'BOOL':
      return tensor(bytes, shape, { device, dtype: 'bool' });
    case 'I64':
      return tensor(new BigInt64Array(b), shape, { device });
    case 'F16':
    case 'BF16': {
      const bits = new Uint16Array(b);
      const out = new Float32Array(bits.length);
      const decode = code === 'BF16' ? fromBf16Bits : fromF16Bits;
      for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i] as number);
      return tensor(out, shape, { device, dtype: code === 'BF16' ? 'bfloat16' : 'float16' });
    }
    default:
      throw new Error(`unsupported safetensors dtype ${code}`);
  }
}

function fromBf16Bits(h: number): number {
  u32[0] = h << 16;
  return f32[0] as number;
}
function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
