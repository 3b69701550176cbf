// The SIM forward model on a 2× fine grid:
//   D_{d,j} = bin₂ₓ₂[(S·I_{d,j}) ⊛ PSF] → scaled to photons → Poisson → + Gaussian read noise
//   → + offset → rounded and clipped to uint16,
// with I_{d,j}(r) = 1 + m_d·cos(2π k_d·r + φ_d + 2πj/P). Binning 2×2 fine pixels into one camera
// pixel integrates over the pixel as a camera does. Fine pixel u along an axis of the raw size N has
// its centre at (u − N − ½)·dx/2 µm, so each camera pixel's centre is at (x − N/2)·dx: the
// pattern phase is exactly the `rdl estimate` φ0 (origin at raw pixel (H/2, W/2)).
import { fft, meshgrid, poisson, randn, stack, type Tensor, tensor, tidy } from '../../engine/index.js';
import { ParameterError } from '../../errors.js';
import type { ImageGrid } from '../grid.js';
import { otf2d, otfTableForGrid, syntheticCutoffPerUm, syntheticRadialOtf } from '../otf.js';
import type { SimParameters } from '../params.js';
import type { TrueParameters } from './truth.js';

export interface Optics {
  /** Camera pixel size, µm. */
  pixelSizeUm: number;
  detectionNA: number;
  emissionWavelengthNm: number;
  phases: number;
}

export function opticsOf(p: SimParameters): Optics {
  return {
    pixelSizeUm: p.pixelSizeUm,
    detectionNA: p.detectionNA,
    emissionWavelengthNm: p.emissionWavelengthNm,
    phases: p.phases,
  };
}

/**
 * Noise-free raw frames [orientations, phases, H, W] (expected photons up to a common scale) and
 * the SR ground truth [2H, 2W] for a fine-grid density [2H, 2W] whose structures have the
 * cross-section FWHM profileUm.
 */
export function cleanCycle(
  density: Tensor,
  profileUm: number,
  truth: TrueParameters,
  optics: Optics,
): { raw: Tensor; sr: Tensor } {
  const H2 = density.dim(0);
  const W2 = density.dim(1);
  if (H2 % 2 || W2 % 2) throw new ParameterError('fine grid', 'even height and width', `${H2}×${W2}`);
  const dev = density.device;
  const fine: ImageGrid = { height: H2, width: W2, pixelSizeUm: optics.pixelSizeUm / 2 };
  return tidy(() => {
    const spec = { na: optics.detectionNA, emissionWavelengthNm: optics.emissionWavelengthNm };
    const kc = syntheticCutoffPerUm(spec);
    const radial = (na: number) => syntheticRadialOtf({ ...spec, na }, 0.01, 2 * (kc + 20));
    const otf = otf2d(otfTableForGrid(radial(optics.detectionNA), fine), fine, 'fft', {
      dtype: 'float32',
      device: dev,
    });
    // The SR ground truth: the object seen through an OTF reaching kc + |k0| (what SIM can resolve).
    const k0 = Math.max(...truth.orientations.map((o) => o.magnitudePerUm));
    const naSr = ((kc + k0) * optics.emissionWavelengthNm) / 1000 / 2;
    const otfSr = otf2d(otfTableForGrid(radial(naSr), fine), fine, 'fft', { dtype: 'float32', device: dev });
    const profile = gaussianSpectrum(fine, profileUm, dev);
    const objectSpectrum = fft.fft2(density.to('float32')).mul(profile);
    const sr = fft.ifft2(objectSpectrum.mul(otfSr)).real().clamp(0, null);

    const xs = Float64Array.from({ length: W2 }, (_, u) => ((u - W2 / 2 - 0.5) * optics.pixelSizeUm) / 2);
    const ys = Float64Array.from({ length: H2 }, (_, u) => ((u - H2 / 2 - 0.5) * optics.pixelSizeUm) / 2);
    const [Y, X] = meshgrid(
      tensor(ys, [H2], { dtype: 'float64', device: dev }),
      tensor(xs, [W2], { dtype: 'float64', device: dev }),
    ) as [Tensor, Tensor];
    const object = fft.ifft2(objectSpectrum).real().clamp(0, null);
    const frames: Tensor[] = [];
    for (const o of truth.orientations) {
      // Phase argument in float64: 2π·k·r reaches hundreds of radians at the image edge.
      const arg = X.mul(2 * Math.PI * o.k0PerUm[0]).add(Y.mul(2 * Math.PI * o.k0PerUm[1]));
      for (let j = 0; j < optics.phases; j++) {
        const pattern = arg
          .add(o.phaseRad + (2 * Math.PI * j) / optics.phases)
          .cos()
          .mul(o.modulation)
          .add(1)
          .to('float32');
        const blurred = fft.ifft2(fft.fft2(object.mul(pattern)).mul(otf)).real();
        frames.push(
          blurred
            .reshape([H2 / 2, 2, W2 / 2, 2])
            .mean([1, 3])
            .clamp(0, null),
        );
      }
    }
    const raw = stack(frames).reshape([truth.orientations.length, optics.phases, H2 / 2, W2 / 2]);
    return { raw, sr };
  });
}

/** Fourier transform of a unit-area Gaussian of the given FWHM (µm), FFT order [H, W]. */
function gaussianSpectrum(g: ImageGrid, fwhmUm: number, device: string): Tensor {
  return tidy(() => {
    const sigma = fwhmUm / (2 * Math.sqrt(2 * Math.LN2));
    const fy = Float64Array.from(
      { length: g.height },
      (_, i) => (i < g.height / 2 ? i : i - g.height) / (g.height * g.pixelSizeUm),
    );
    const fx = Float64Array.from(
      { length: g.width },
      (_, i) => (i < g.width / 2 ? i : i - g.width) / (g.width * g.pixelSizeUm),
    );
    const [Y, X] = meshgrid(tensor(fy, [g.height], { device }), tensor(fx, [g.width], { device })) as [Tensor, Tensor];
    return Y.square()
      .add(X.square())
      .mul(-2 * Math.PI ** 2 * sigma ** 2)
      .exp();
  });
}

export interface NoiseSpec {
  /** Expected photons at the brightest pixel of the cycle. */
  peakPhotons: number;
  /** Gaussian read noise, electrons rms (counts at gain 1). */
  readNoise: number;
  /** Camera offset, counts. */
  offset: number;
  seed: number;
}

/** Scales clean frames to photons and draws one noisy acquisition, uint16 values as float32. */
export function acquire(clean: Tensor, n: NoiseSpec): Tensor {
  if (!(n.peakPhotons > 0)) throw new ParameterError('photons', 'a peak photon count > 0', n.peakPhotons);
  if (!(n.readNoise >= 0)) throw new ParameterError('read noise', 'a number ≥ 0', n.readNoise);
  return tidy(() => {
    const max = clean.max().item();
    const rates = clean.mul(max > 0 ? n.peakPhotons / max : 0);
    const photons = poisson(rates, n.seed);
    const read = randn(clean.shape, { seed: n.seed + 1, device: clean.device }).mul(n.readNoise);
    return photons.add(read).add(n.offset).round().clamp(0, 65535);
  });
}
