// A saved model is a self-describing folder: config.json (architecture and hyper-parameters)
// and weights.safetensors (parameters by dotted path). A reference Keras .h5 file can stand in
// for the folder where the architecture is known.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '../engine/index.js';
import { InputFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { DFCAN } from './dfcan.js';
import { applyKerasWeights, loadKerasWeights, readKerasWeights } from './keras.js';
import { type AnyModel, type Architecture, architectureOf, createModel, REFERENCE_MODELS } from './registry.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.safetensors';
const FORMAT = 'rdl-model';
const FORMAT_VERSION = 1;

export interface ModelFolderConfig {
  format: typeof FORMAT;
  version: number;
  architecture: string;
  config: object;
  /** Trainable parameters (informational; checked on load). */
  parameters: number;
}

/** The model's configuration as it is now (an imported NSM pixel size included). */
export function currentConfig(m: AnyModel): object {
  if (m instanceof DFCAN || m.nsm === null || m.config.nsm === null) return m.config;
  return { ...m.config, nsm: { ...m.config.nsm, pixelSizeUm: m.nsm.pixelSizeUm } };
}

export function saveModelFolder(m: AnyModel, folder: string): void {
  mkdirSync(folder, { recursive: true });
  const meta: ModelFolderConfig = {
    format: FORMAT,
    version: FORMAT_VERSION,
    architecture: architectureOf(m),
    config: currentConfig(m),
    parameters: m.parameterCount(),
  };
  saveSafetensors(join(folder, WEIGHTS_FILE), m.stateDict(), { format: FORMAT, architecture: meta.architecture });
  writeFileAtomic(join(folder, CONFIG_FILE), [Buffer.from(`${JSON.stringify(meta, null, 2)}\n`)]);
}

export function readModelConfig(folder: string): ModelFolderConfig {
  const path = join(folder, CONFIG_FILE);
  if (!existsSync(path)) throw new InputFileError(folder, `not a model folder: ${CONFIG_FILE} is missing`);
  let meta: ModelFolderConfig;
  try {
    meta = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  if (meta?.format !== FORMAT || typeof meta.architecture !== 'string' || typeof meta.config !== 'object') {
    throw new InputFileError(path, `expected {"format": "${FORMAT}", "architecture", "config", …}`);
  }
  if (meta.version > FORMAT_VERSION) {
    throw new InputFileError(
      path,
      `model format version ${meta.version} is newer than this rdl reads (${FORMAT_VERSION})`,
    );
  }
  return meta;
}

export function loadModelFolder(folder: string): AnyModel {
  const meta = readModelConfig(folder);
  const m = createModel(meta.architecture, meta.config, { seed: 0 });
  const weights = loadSafetensors(join(folder, WEIGHTS_FILE), {
    device: (m.parameters()[0] as { device: string }).device,
  });
  try {
    m.loadStateDict(weights.tensors, join(folder, WEIGHTS_FILE));
  } catch (err) {
    m.dispose();
    throw err;
  } finally {
    for (const t of Object.values(weights.tensors)) t.dispose();
  }
  return m;
}

/**
 * A model folder, or a Keras weights file (.h5/.hdf5) loaded into the given architecture at the
 * given configuration (the reference's by default).
 */
export async function loadModel(path: string, keras: { architecture: string; config?: object }): Promise<AnyModel> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const m = loadModelFolder(path);
    if (architectureOf(m) !== keras.architecture) {
      const found = architectureOf(m);
      m.dispose();
      throw new InputFileError(path, `holds a ${found} model, expected ${keras.architecture}`);
    }
    return m;
  }
  if (!['.h5', '.hdf5'].includes(extname(path).toLowerCase())) {
    throw new InputFileError(path, 'expected a model folder (config.json + weights.safetensors) or a Keras .h5 file');
  }
  const m = createModel(keras.architecture, keras.config ?? {}, { seed: 0 });
  try {
    await loadKerasWeights(m, path);
  } catch (err) {
    m.dispose();
    throw err;
  }
  return m;
}

/** What a model is, in words, for "expected … found …" messages. */
function kindOf(m: { architecture: string; config: object }): string {
  const c = m.config as { inChannels?: number; channels?: number; nsm?: object | null };
  if (m.architecture === 'dfcan') return `an SR model (DFCAN, ${c.inChannels ?? '?'} input frames)`;
  if (m.architecture === 'rdl-denoiser') {
    return `an rDL denoiser${c.nsm ? ' with NSM' : ''} (${c.channels ?? '?'} phases)`;
  }
  return `a 3D light-sheet model (RCAN3D, ${c.channels ?? '?'} channels)`;
}

/**
 * A model of a given architecture from a model folder or a reference Keras .h5, refusing any other
 * kind with what was expected and what was found. A .h5 is identified among the reference models by
 * its parameter count and kernel ranks (a 3D model has 5-D kernels), then loaded shape-checked.
 * `config` overrides fields of the identified reference configuration (e.g. the NSM pixel size).
 */
export async function loadModelOfKind(
  path: string,
  architecture: Architecture,
  role: string,
  config: (found: object) => object = (c) => c,
): Promise<AnyModel> {
  const want = kindOf({ architecture, config: {} }).replace(/ \(.*\)$/, '');
  if (existsSync(path) && statSync(path).isDirectory()) {
    const meta = readModelConfig(path);
    if (meta.architecture !== architecture) {
      throw new InputFileError(path, `${role} must be ${want}, but this folder holds ${kindOf(meta)}`);
    }
    return loadModelFolder(path);
  }
  if (!['.h5', '.hdf5'].includes(extname(path).toLowerCase())) {
    throw new InputFileError(
      path,
      `${role}: expected a model folder (config.json + weights.safetensors) or a Keras .h5 file`,
    );
  }
  const layers = await readKerasWeights(path);
  const count = layers.reduce((n, l) => n + l.weights.reduce((k, w) => k + w.data.length, 0), 0);
  const is3d = layers.some((l) => l.weights.some((w) => w.shape.length === 5));
  const ref = REFERENCE_MODELS.find((r) => r.kerasParameters === count && (r.architecture === 'rcan3d') === is3d);
  if (ref === undefined) {
    throw new InputFileError(
      path,
      `${role}: ${count} weights match none of the reference models (${REFERENCE_MODELS.map((r) => `${r.name} ${r.kerasParameters}`).join(', ')})`,
    );
  }
  if (ref.architecture !== architecture) {
    throw new InputFileError(path, `${role} must be ${want}, but this file holds ${kindOf(ref)} (${ref.name})`);
  }
  const m = createModel(ref.architecture, config(ref.config), { seed: 0 });
  try {
    applyKerasWeights(m, layers, path);
  } catch (err) {
    m.dispose();
    throw err;
  }
  return m;
}
