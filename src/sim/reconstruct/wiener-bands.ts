// Band separation with known phases, and placing the bands on the 2× grid shifted into their true
// frequency positions (ALGORITHMS.md §8 steps 2–3).
//
// For frames D_p = [S·(1 + m cos(2πk·r + φ_p))] ⊛ PSF, with r from the image centre (the
// `rdl estimate` origin) and the FFT's phase reference at pixel 0 (x = r + c, c the centre
// (W/2, H/2)·dx), the pattern in FFT coordinates has phase φ'_p = φ_p − 2πk·c. Then
//   D̃_p(q) = OTF(q)·[S̃(q) + (m/2)e^{iφ'_p} S̃(q − k) + (m/2)e^{−iφ'_p} S̃(q + k)].
// Equally spaced phases make the mixing matrix's columns orthogonal, so the (least-squares)
// inverse is a weighted sum: band0 = (1/P)Σ D̃_p, band± = (2/P)Σ e^{∓iφ'_p} D̃_p. The depth m is not
// divided out here (band± = m·OTF·S̃(q ∓ k)); the Wiener step weights by m instead, which stays
// stable when m is small or poorly known.
import { cat, complex, fft, meshgrid, type Tensor, tensor, tidy } from '../../engine/index.js';

export interface OrientationPattern {
  /** cycles/µm, [kx, ky], x = column axis. */
  k0PerUm: [number, number];
  /** φ0, rad, origin at pixel (H/2, W/2). */
  phaseRad: number;
}

/**
 * Separated bands of one orientation from its frames [P, H, W] (real, preprocessed): spectra
 * [3, H, W] complex in FFT order, index 0 = band0, 1 = band+ (object centred at +k), 2 = band−.
 */
export function separateKnownPhases(frames: Tensor, pattern: OrientationPattern, pixelSizeUm: number): Tensor {
  return tidy(() => {
    const P = frames.dim(0);
    const H = frames.dim(1);
    const W = frames.dim(2);
    const spectra = fft.fft2(frames.to('float32'));
    const [kx, ky] = pattern.k0PerUm;
    const shift = 2 * Math.PI * (kx * (W / 2) + ky * (H / 2)) * pixelSizeUm;
    const re = new Float32Array(3 * P);
    const im = new Float32Array(3 * P);
    for (let p = 0; p < P; p++) {
      const phi = pattern.phaseRad - shift + (2 * Math.PI * p) / P;
      re[p] = 1 / P;
      // band+: (2/P)e^{−iφ'}; band−: (2/P)e^{+iφ'}.
      re[P + p] = (2 / P) * Math.cos(phi);
      im[P + p] = -(2 / P) * Math.sin(phi);
      re[2 * P + p] = (2 / P) * Math.cos(phi);
      im[2 * P + p] = (2 / P) * Math.sin(phi);
    }
    const opts = { dtype: 'float32', device: frames.device } as const;
    const weights = complex(tensor(re, [3, P, 1, 1], opts), tensor(im, [3, P, 1, 1], opts));
    return spectra.unsqueeze(0).mul(weights).sum(1);
  });
}

/**
 * Spectra [B, H, W] (FFT order) on the 2× grid [B, 2H, 2W] by zero padding, each multiplied in
 * real space by e^{i2π s_b·x} (x from pixel 0, µm), which moves its content by +s_b in frequency.
 * shifts are cycles/µm per band, [sx, sy].
 */
export function upsampleAndShift(spectra: Tensor, shifts: readonly [number, number][], pixelSizeUm: number): Tensor {
  return tidy(() => {
    const H = spectra.dim(1);
    const W = spectra.dim(2);
    const centred = fft.fftshift(spectra, [1, 2]);
    // Centred H×W block into the centre of a 2H×2W array (zero frequency lands on index H, W).
    const pad = (t: Tensor) => t.pad([W / 2, W / 2, H / 2, H / 2]);
    const big = fft.ifftshift(complex(pad(centred.real()), pad(centred.imag())), [1, 2]);
    const img = fft.ifft2(big);
    const fine = pixelSizeUm / 2;
    const opts = { dtype: 'float64', device: spectra.device } as const;
    const ys = tensor(
      Float64Array.from({ length: 2 * H }, (_, i) => i * fine),
      [2 * H],
      opts,
    );
    const xs = tensor(
      Float64Array.from({ length: 2 * W }, (_, i) => i * fine),
      [2 * W],
      opts,
    );
    const [Y, X] = meshgrid(ys, xs) as [Tensor, Tensor];
    const out: Tensor[] = [];
    for (let b = 0; b < shifts.length; b++) {
      const [sx, sy] = shifts[b]!;
      let band = img.select(0, b);
      if (sx !== 0 || sy !== 0) {
        // Phase in float64 (hundreds of radians at the far edge), then the unit phasor in float32.
        const arg = X.mul(2 * Math.PI * sx).add(Y.mul(2 * Math.PI * sy));
        band = band.mul(complex(arg.cos().to('float32'), arg.sin().to('float32')));
      }
      out.push(fft.fft2(band).unsqueeze(0));
    }
    return cat(out, 0);
  });
}
