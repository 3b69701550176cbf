// Image-quality metrics: fidelity against a reference, resolution, raw-data modulation.
export { type DecorrelationOptions, type DecorrelationResult, decorrelationResolution } from './decorrelation.js';
export { type Fidelity, type FidelityOptions, fidelity, SSIM_SIGMA, SSIM_WINDOW, ssim } from './fidelity.js';
export { type McnrGrade, type McnrOptions, type McnrResult, mcnr, mcnrGrade, otsuThreshold } from './mcnr.js';
export { minMaxNormalize, NORM_EPS } from './normalize.js';
