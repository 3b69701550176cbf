// Edge apodization before the FFT (reference: CalModamp_2DSIM.apodize). Over the n outermost
// rows, then columns, opposite edges are pulled towards each other by f(l)·(half their
// difference), f(l) = 1 − sin((l + 0.5)/n · π/2), so the image wraps without a jump and its sum is
// unchanged. Columns are treated after rows (corners see both), as in the reference. Unlike the
// reference this returns a new tensor and never mutates its input.
import { type Tensor, tensor, tidy } from '../engine/index.js';
import { ShapeError } from '../errors.js';

/** Apodizes the last two dims [..., y, x] of a real tensor over widthPx pixels at each edge. */
export function apodize(images: Tensor, widthPx: number): Tensor {
  const h = images.dim(-2);
  const w = images.dim(-1);
  if (h < 2 * widthPx || w < 2 * widthPx) {
    throw new ShapeError(`images of ${h}×${w} pixels are smaller than twice the apodization width (${widthPx} px)`);
  }
  if (widthPx === 0) return images.clone();
  const f = new Float64Array(widthPx);
  for (let l = 0; l < widthPx; l++) f[l] = 1 - Math.sin(((l + 0.5) / widthPx) * (Math.PI / 2));
  const opts = { dtype: images.dtype, device: images.device };
  // One copy, then only the edge strips change (in place): two concatenations of the whole stack cost ~5× more.
  const out = images.clone();
  tidy(() => {
    taper(out, -2, tensor(f, [widthPx, 1], opts));
    taper(out, -1, tensor(f, [widthPx], opts));
  });
  return out;
}

/** One pass along dim (−2 rows, −1 columns), in place; fact broadcasts along the other image axis. */
function taper(x: Tensor, dim: number, fact: Tensor): void {
  const n = x.dim(dim);
  const width = fact.size;
  const first = x.narrow(dim, 0, width);
  const last = x.narrow(dim, n - width, width);
  // shift[l] pairs line l with the l-th line from the far edge (index n−1−l); a new tensor, computed
  // before either strip changes.
  const shift = last.flip(dim).sub(first).mul(0.5).mul(fact);
  first.add_(shift);
  last.add_(shift.flip(dim), -1);
}
