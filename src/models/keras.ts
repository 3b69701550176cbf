// Weights of the reference's Keras models (Keras 2 `save_weights` HDF5 files, or `model.save`
// files, whose weights sit under /model_weights) into our networks, and back.
//
// Keras names layers by class and creation count (conv2d, conv2d_1, …; the count continues
// across models built in one session), and /layer_names lists them in graph order, which for
// branched networks is not creation order. So convolutions are matched by their creation count,
// against each network's kerasLayout() — the order in which the reference's code creates them —
// and every shape is checked before anything is copied.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type h5wasmModule from 'h5wasm/node';
import { noGrad, type Tensor, tensor, tidy } from '../engine/index.js';
import { InputFileError, RdlError, ShapeError } from '../errors.js';
import type { Conv } from '../nn/conv.js';
import type { KerasImportable, KerasSlot } from './common.js';

export interface KerasWeight {
  /** As stored, e.g. "conv2d_3/kernel:0". */
  name: string;
  shape: number[];
  data: Float32Array;
}
export interface KerasLayer {
  name: string;
  weights: KerasWeight[];
}

type H5wasm = typeof h5wasmModule;
type H5Group = InstanceType<H5wasm['Group']>;
type H5Dataset = InstanceType<H5wasm['Dataset']>;

let h5wasmLoading: Promise<H5wasm> | null = null;

/**
 * The HDF5 reader (h5wasm, WebAssembly), loaded on first use only: instantiating it reserves a
 * large WebAssembly memory, which fails under a virtual-memory limit (`ulimit -v`, common on
 * clusters), so commands that never read .h5 files must not load it. A memory failure is an
 * RdlError of one line.
 */
async function loadH5wasm(what: string): Promise<H5wasm> {
  // Emscripten reports an instantiation failure on console.error and then rejects with an
  // unrelated TypeError: capture its lines while loading, to name the real cause in one line.
  const said: string[] = [];
  h5wasmLoading ??= (async () => {
    const saved = console.error;
    console.error = (...args: unknown[]) => {
      said.push(args.map(String).join(' '));
    };
    try {
      const h5wasm = (await import('h5wasm/node')).default;
      await h5wasm.ready;
      return h5wasm;
    } finally {
      console.error = saved;
    }
  })();
  try {
    return await h5wasmLoading;
  } catch (err) {
    h5wasmLoading = null;
    const cause = [...said, (err as Error)?.message ?? String(err)].join('; ').split('\n')[0] as string;
    const hint = /memory/i.test(cause)
      ? '; raise or remove the virtual-memory limit (ulimit -v) to read .h5 files, or use a model folder'
      : '';
    throw new RdlError(`${what}: cannot start the HDF5 reader (h5wasm, WebAssembly): ${cause}${hint}`);
  }
}

/** Reads every layer with weights from a Keras weights file. */
export async function readKerasWeights(path: string): Promise<KerasLayer[]> {
  if (!existsSync(path)) throw new InputFileError(path, 'no such file');
  const h5wasm = await loadH5wasm(path);
  let file: InstanceType<H5wasm['File']>;
  try {
    file = new h5wasm.File(path, 'r');
  } catch (err) {
    throw new InputFileError(path, `not an HDF5 file (${(err as Error).message})`);
  }
  try {
    const root = (file.keys().includes('model_weights') ? file.get('model_weights') : file) as H5Group;
    const layerNames = stringList(root, 'layer_names');
    if (layerNames === null) {
      throw new InputFileError(path, 'not a Keras weights file: no layer_names attribute (at / or /model_weights)');
    }
    const layers: KerasLayer[] = [];
    for (const name of layerNames) {
      const group = root.get(name) as H5Group | null;
      if (group === null) throw new InputFileError(path, `layer ${name} is listed but has no group`);
      const weights = (stringList(group, 'weight_names') ?? []).map((wn) => {
        const ds = group.get(wn) as H5Dataset | null;
        if (ds === null) throw new InputFileError(path, `weight ${name}/${wn} is listed but missing`);
        const value = ds.value;
        if (!ArrayBuffer.isView(value) && typeof value !== 'number') {
          throw new InputFileError(path, `weight ${name}/${wn} is not numeric`);
        }
        const data =
          typeof value === 'number' ? Float32Array.of(value) : Float32Array.from(value as unknown as ArrayLike<number>);
        return { name: wn, shape: ds.shape ?? [], data };
      });
      if (weights.length > 0) layers.push({ name, weights });
    }
    return layers;
  } finally {
    file.close();
  }
}

/** An attribute holding a list of strings, possibly split in chunks name0, name1, … as Keras does past 64 kB. */
function stringList(g: H5Group, attr: string): string[] | null {
  const names = Object.keys(g.attrs);
  const parts = names.includes(attr)
    ? [attr]
    : names
        .filter((n) => new RegExp(`^${attr}\\d+$`).test(n))
        .sort((a, b) => Number(a.slice(attr.length)) - Number(b.slice(attr.length)));
  if (parts.length === 0) return null;
  return parts.flatMap((p) => {
    const v = g.attrs[p]?.value;
    const list = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
    return list.map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)).replace(/\0+$/, ''));
  });
}

/** The Keras shape of a convolution's kernel: (k, k[, k], in, out). */
function kerasKernelShape(c: Conv): number[] {
  return [...new Array<number>(c.dims).fill(c.kernel), c.inChannels, c.outChannels];
}

/**
 * Keras kernel → ours. 2-D: (ky, kx, in, out) → (out, in, ky, kx). 3-D: the reference's volumes
 * are (Y, X, Z), so its kernels are (ky, kx, kz, in, out); ours are (out, in, kz, ky, kx).
 */
const TO_OURS: Record<2 | 3, number[]> = { 2: [3, 2, 0, 1], 3: [4, 3, 2, 0, 1] };
/** Ours → Keras (the inverse permutations). */
const TO_KERAS: Record<2 | 3, number[]> = { 2: [2, 3, 1, 0], 3: [3, 4, 2, 1, 0] };

function creationIndex(name: string, prefix: string): number | null {
  const m = new RegExp(`^${prefix}(?:_(\\d+))?$`).exec(name);
  return m === null ? null : m[1] === undefined ? 0 : Number(m[1]);
}

function describe(shapes: number[][]): string {
  return shapes.map((s) => `[${s}]`).join(' ');
}

/** Loads a Keras weights file into a network (all or nothing). */
export async function loadKerasWeights(model: KerasImportable, path: string): Promise<void> {
  applyKerasWeights(model, await readKerasWeights(path), path);
}

export function applyKerasWeights(model: KerasImportable, layers: KerasLayer[], source: string): void {
  const slots = model.kerasLayout();
  const prefix = model.kerasConvName;
  const convSlots = slots.filter((s): s is Extract<KerasSlot, { kind: 'conv' }> => s.kind === 'conv');
  const nsmSlots = slots.filter((s): s is Extract<KerasSlot, { kind: 'nsm' }> => s.kind === 'nsm');
  const convLayers: Array<{ index: number; layer: KerasLayer }> = [];
  const nsmLayers: KerasLayer[] = [];
  for (const layer of layers) {
    const index = creationIndex(layer.name, prefix);
    if (index !== null) convLayers.push({ index, layer });
    else if (layer.weights.some((w) => /(^|\/)cutoff_freq:0$/.test(w.name))) nsmLayers.push(layer);
    else {
      throw new ShapeError(
        `${source}: layer ${layer.name} (weights ${layer.weights.map((w) => w.name).join(', ')}) is not part of a ` +
          `${model.constructor.name} (expected ${prefix} layers${nsmSlots.length > 0 ? ' and one noise suppression module' : ''})`,
      );
    }
  }
  convLayers.sort((a, b) => a.index - b.index);
  const name = model.constructor.name;
  if (convLayers.length !== convSlots.length || nsmLayers.length !== nsmSlots.length) {
    throw new ShapeError(
      `${source} does not fit this ${name}: expected ${convSlots.length} ${prefix} layers and ${nsmSlots.length} ` +
        `noise suppression modules, found ${convLayers.length} and ${nsmLayers.length}. ` +
        `Expected kernels ${describe(convSlots.slice(0, 8).map((s) => kerasKernelShape(s.conv)))}${convSlots.length > 8 ? ' …' : ''}; ` +
        `found ${describe(convLayers.slice(0, 8).map((l) => l.layer.weights[0]?.shape ?? []))}${convLayers.length > 8 ? ' …' : ''}`,
    );
  }

  // Convert and check everything first: a file that does not fit changes nothing.
  const updates: Array<[Tensor, Tensor]> = [];
  const nsmUpdates: Array<() => void> = [];
  try {
    convSlots.forEach((slot, i) => {
      const layer = (convLayers[i] as { layer: KerasLayer }).layer;
      updates.push(...convertConv(slot, layer, source));
    });
    nsmSlots.forEach((slot, i) => {
      const layer = nsmLayers[i] as KerasLayer;
      const find = (w: string) => layer.weights.find((x) => new RegExp(`(^|/)${w}:0$`).test(x.name));
      const cutoff = find('cutoff_freq');
      const slope = find('slop');
      const dxy = find('dxy');
      if (cutoff?.data.length !== 1 || slope?.data.length !== 1) {
        throw new ShapeError(
          `${source}: layer ${layer.name} → ${slot.path}: expected one-element cutoff_freq:0 and slop:0, found ` +
            layer.weights.map((w) => `${w.name} [${w.shape}]`).join(', '),
        );
      }
      nsmUpdates.push(() => {
        slot.nsm.cutoff.fill_(cutoff.data[0] as number);
        slot.nsm.slope.fill_(slope.data[0] as number);
        // The pixel size the network was trained with (µm), when the file has it.
        if (dxy !== undefined && dxy.data.length === 1) slot.nsm.pixelSizeUm = dxy.data[0] as number;
      });
    });
  } catch (err) {
    for (const [t] of updates) t.dispose();
    throw err;
  }
  noGrad(() => {
    for (const [value, target] of updates) {
      target.copy_(value);
      value.dispose();
    }
    for (const u of nsmUpdates) u();
  });
}

function convertConv(
  slot: Extract<KerasSlot, { kind: 'conv' }>,
  layer: KerasLayer,
  source: string,
): Array<[Tensor, Tensor]> {
  const conv = slot.conv;
  const kernel = layer.weights.find((w) => /(^|\/)kernel:0$/.test(w.name));
  const bias = layer.weights.find((w) => /(^|\/)bias:0$/.test(w.name));
  const expected = kerasKernelShape(conv);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  if (
    kernel === undefined ||
    bias === undefined ||
    !same(kernel.shape, expected) ||
    !same(bias.shape, [conv.outChannels])
  ) {
    throw new ShapeError(
      `${source}: layer ${layer.name} → ${slot.path}: expected kernel [${expected}] and bias [${conv.outChannels}], found ` +
        layer.weights.map((w) => `${w.name} [${w.shape}]`).join(', '),
    );
  }
  return tidy(() => {
    const device = conv.weight.device;
    let w = tensor(kernel.data, kernel.shape, { device }).permute(TO_OURS[conv.dims]).contiguous();
    let b = tensor(bias.data, bias.shape, { device });
    if (slot.outOrder !== undefined) {
      const idx = tensor(Int32Array.from(slot.outOrder), [slot.outOrder.length], { dtype: 'int64', device });
      w = w.indexSelect(0, idx);
      b = b.indexSelect(0, idx);
    }
    return [
      [w, conv.weight],
      [b, conv.bias],
    ] as Array<[Tensor, Tensor]>;
  });
}

/**
 * Writes a network's weights as a Keras 2 `save_weights` file (layers named conv2d, conv2d_1, …
 * in creation order), which the reference's Keras models load with load_weights.
 */
export async function saveKerasWeights(model: KerasImportable, path: string): Promise<void> {
  const h5wasm = await loadH5wasm(path);
  const tmp = `${path}.tmp-${process.pid}`;
  const file = new h5wasm.File(tmp, 'w');
  try {
    const names: string[] = [];
    let convCount = 0;
    const writeLayer = (name: string, weights: Array<[string, Float32Array, number[]]>) => {
      names.push(name);
      const g = file.create_group(name);
      g.create_attribute(
        'weight_names',
        weights.map(([w]) => `${name}/${w}`),
      );
      const inner = g.create_group(name);
      for (const [w, data, shape] of weights) inner.create_dataset({ name: w, data, shape, dtype: '<f' });
    };
    for (const slot of model.kerasLayout()) {
      if (slot.kind === 'nsm') {
        const n = slot.nsm;
        writeLayer(model.kerasConvName === 'conv2d' ? 'nsm' : 'noise_suppression_module', [
          ['cutoff_freq:0', n.cutoff.toFloat32Array(), [1]],
          ['slop:0', n.slope.toFloat32Array(), [1]],
          ['dxy:0', Float32Array.of(n.pixelSizeUm), []],
        ]);
        continue;
      }
      const conv = slot.conv;
      const [kernel, bias] = tidy(() => {
        let w = conv.weight.detach();
        let b = conv.bias.detach();
        if (slot.outOrder !== undefined) {
          // Inverse of the import's gather: Keras channel outOrder[o] holds our channel o.
          const inv = new Int32Array(slot.outOrder.length);
          slot.outOrder.forEach((k, o) => {
            inv[k] = o;
          });
          const idx = tensor(inv, [inv.length], { dtype: 'int64', device: w.device });
          w = w.indexSelect(0, idx);
          b = b.indexSelect(0, idx);
        }
        return [w.permute(TO_KERAS[conv.dims]).contiguous().toFloat32Array(), b.toFloat32Array()];
      });
      const name = convCount === 0 ? model.kerasConvName : `${model.kerasConvName}_${convCount}`;
      convCount += 1;
      writeLayer(name, [
        ['kernel:0', kernel, kerasKernelShape(conv)],
        ['bias:0', bias, [conv.outChannels]],
      ]);
    }
    file.create_attribute('layer_names', names);
    file.create_attribute('backend', 'tensorflow');
    file.create_attribute('keras_version', '2.4.0');
  } catch (err) {
    file.close();
    await rm(tmp, { force: true });
    throw err;
  }
  file.close();
  await rename(tmp, path);
}
