// Every architecture by name, its reference configurations (the networks of the paper, with the
// Keras originals' trainable parameter counts) and how to build one from a saved config.
import { ParameterError } from '../errors.js';
import type { KerasImportable } from './common.js';
import { DENOISER_NSM_REFERENCE, DENOISER_REFERENCE, type DenoiserConfig, RdlDenoiser } from './denoiser.js';
import { DFCAN, DFCAN_REFERENCE, type DfcanConfig } from './dfcan.js';
import { RCAN3D, RCAN3D_NSM_REFERENCE, RCAN3D_REFERENCE, type Rcan3dConfig } from './rcan3d.js';

export type Architecture = 'dfcan' | 'rdl-denoiser' | 'rcan3d';
export type AnyModel = DFCAN | RdlDenoiser | RCAN3D;

export interface ReferenceModel {
  /** Name used by the CLI (`rdl models`). */
  name: string;
  architecture: Architecture;
  config: DfcanConfig | DenoiserConfig | Rcan3dConfig;
  /** The Keras original's trainable parameter count. */
  kerasParameters: number;
  description: string;
}

export const REFERENCE_MODELS: readonly ReferenceModel[] = [
  {
    name: 'dfcan',
    architecture: 'dfcan',
    config: DFCAN_REFERENCE,
    kerasParameters: 1_935_361,
    description: 'SR inference module: 9 raw SIM frames → 2× super-resolved image',
  },
  {
    name: 'rdl-denoiser',
    architecture: 'rdl-denoiser',
    config: DENOISER_REFERENCE,
    kerasParameters: 4_743_619,
    description: 'rDL denoiser: MPE + noisy raw (3 phases) → denoised raw',
  },
  {
    name: 'rdl-denoiser-nsm',
    architecture: 'rdl-denoiser',
    config: { ...DENOISER_REFERENCE, nsm: DENOISER_NSM_REFERENCE },
    kerasParameters: 4_780_549,
    description: 'rDL denoiser with the noise suppression module',
  },
  {
    name: 'rcan3d-tis',
    architecture: 'rcan3d',
    config: RCAN3D_REFERENCE,
    kerasParameters: 3_805_632,
    description: 'TiS-rDL: RCAN3D, 4 channels',
  },
  {
    name: 'rcan3d-sis',
    architecture: 'rcan3d',
    config: { ...RCAN3D_REFERENCE, channels: 1 },
    kerasParameters: 3_779_709,
    description: 'SiS-rDL: RCAN3D, 1 channel',
  },
  {
    name: 'rcan3d-nsm-tis',
    architecture: 'rcan3d',
    config: { ...RCAN3D_REFERENCE, nsm: RCAN3D_NSM_REFERENCE },
    kerasParameters: 3_812_610,
    description: 'TiS-rDL: RCAN3D with the noise suppression module, 4 channels',
  },
  {
    name: 'rcan3d-nsm-sis',
    architecture: 'rcan3d',
    config: { ...RCAN3D_REFERENCE, channels: 1, nsm: RCAN3D_NSM_REFERENCE },
    kerasParameters: 3_781_503,
    description: 'SiS-rDL: RCAN3D with the noise suppression module, 1 channel',
  },
];

export function referenceModel(name: string): ReferenceModel {
  const m = REFERENCE_MODELS.find((r) => r.name === name);
  if (m === undefined) {
    throw new ParameterError('model name', `one of ${REFERENCE_MODELS.map((r) => r.name).join(', ')}`, name);
  }
  return m;
}

/** Builds a network of an architecture from a (partial) config; missing fields take the reference values. */
export function createModel(
  architecture: string,
  config: object = {},
  opts: { seed?: number } = {},
): AnyModel & KerasImportable {
  switch (architecture) {
    case 'dfcan':
      return new DFCAN(config as Partial<DfcanConfig>, opts);
    case 'rdl-denoiser':
      return new RdlDenoiser(config as Partial<DenoiserConfig>, opts);
    case 'rcan3d':
      return new RCAN3D(config as Partial<Rcan3dConfig>, opts);
    default:
      throw new ParameterError('architecture', 'one of dfcan, rdl-denoiser, rcan3d', architecture);
  }
}

export function architectureOf(m: AnyModel): Architecture {
  if (m instanceof DFCAN) return 'dfcan';
  if (m instanceof RdlDenoiser) return 'rdl-denoiser';
  return 'rcan3d';
}
