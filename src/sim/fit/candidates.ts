// Candidate pattern vectors and the overlap settings that every modamp evaluator (overlap.ts,
// overlap-spectral.ts) and the phase correlator (phase.ts, phase-noise.ts) share.
import { type Tensor, tensor } from '../../engine/index.js';

export interface OverlapSettings {
  /** Overlap cutoff radius R, cycles/µm (already limited to the grid's Nyquist radius). */
  cutoffPerUm: number;
  /** |OTF| must exceed this on both sides (0.005). */
  otfThreshold: number;
}

export interface KCandidate {
  /** Orientation (index into the bands' first dim). */
  orientation: number;
  /** Pattern vector, cycles/µm, x = column axis. */
  kx: number;
  ky: number;
}

/**
 * The entries of t [D, …] (one per orientation) for each candidate, in order: t itself when the
 * candidates are orientations 0 … D − 1 in order, a view of one entry for a single candidate (no
 * copy either way: a 2048² orientation's bands are 64 MB), else a gather. Created in the caller's scope.
 */
export function perCandidate(t: Tensor, cands: readonly KCandidate[]): Tensor {
  if (cands.length === t.dim(0) && cands.every((c, i) => c.orientation === i)) return t;
  if (cands.length === 1) return t.narrow(0, (cands[0] as KCandidate).orientation, 1);
  const index = Int32Array.from(cands, (c) => c.orientation);
  return t.indexSelect(0, tensor(index, [cands.length], { dtype: 'int32', device: t.device }));
}
