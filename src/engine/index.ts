// The engine's public surface: tensors over libtorch, with autograd, FFTs and Adam.
export { Adam, type AdamOptions, type AdamState } from './adam.js';
export { keepBackgroundAwake, multiDotAsync, PendingTensor } from './async.js';
export { isGradEnabled, noGrad } from './autograd.js';
export * from './create.js';
export {
  cudaAvailable,
  emptyCache,
  engineInfo,
  getDefaultDevice,
  getNumThreads,
  memory,
  setDefaultDevice,
  setNumThreads,
  withNumThreads,
} from './device.js';
export * as fft from './fft.js';
export * as F from './functional.js';
export { loadSafetensors, type Metadata, type SafetensorsFile, saveSafetensors } from './safetensors.js';
export { dispose, keep, tidy } from './scope.js';
export { Scratch } from './scratch.js';
export { type Device, type DType, isDType, Tensor, type TensorLike, type TypedArrayOut } from './tensor.js';
