// A saved model is a self-describing folder: config.json (architecture and hyper-parameters)
// and weights.safetensors (parameters by dotted path). A reference Keras .h5 file can stand in
// for the folder where the architecture is known.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { loadSafetensors, saveSafetensors } from '../engine/index.js';
import { InputFileError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { DFCAN } from './dfcan.js';
import { loadKerasWeights } from './keras.js';
import { type AnyModel, architectureOf, createModel } from './registry.js';

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
