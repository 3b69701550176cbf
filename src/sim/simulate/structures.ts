// Ground-truth fluorophore densities of the BioSR structure kinds, on the fine (2×) grid.
// Sizes are physical: microtubules are ~25 nm wide and straight over microns (persistence
// length in the millimetres, bent by the cell); F-actin is thinner, denser, more curved;
// clathrin-coated pits are hollow rings 100–200 nm across; the ER is a network of ~60–100 nm
// tubules joining at three-way junctions; beads are 100 nm spheres seen as discs.
import { ParameterError } from '../../errors.js';
import { Canvas } from './canvas.js';
import { Rng } from './random.js';

export type StructureKind = 'microtubules' | 'actin' | 'ccps' | 'er' | 'beads';
export const STRUCTURE_KINDS: readonly StructureKind[] = ['microtubules', 'actin', 'ccps', 'er', 'beads'];

export interface StructureSpec {
  kind: StructureKind;
  /** Fine-grid size in pixels. */
  height: number;
  width: number;
  /** Fine-grid pixel size, µm. */
  pixelUm: number;
  seed: number;
  /** Object count scale (1 = typical BioSR density). */
  density?: number;
}

/**
 * The fluorophore density [height·width] row-major (maximum 1), as thin lines and points, and
 * the FWHM (µm) of the structure's cross-section, which the forward model applies as a Gaussian.
 */
export function makeStructure(spec: StructureSpec): { data: Float64Array; widthUm: number } {
  if (!STRUCTURE_KINDS.includes(spec.kind)) {
    throw new ParameterError('structure', `one of ${STRUCTURE_KINDS.join(', ')}`, spec.kind);
  }
  const rng = new Rng(spec.seed);
  const c = new Canvas(spec.height, spec.width, spec.pixelUm);
  const areaUm2 = spec.height * spec.width * spec.pixelUm ** 2;
  const density = spec.density ?? 1;
  const W = spec.width * spec.pixelUm;
  const H = spec.height * spec.pixelUm;
  let widthUm: number;
  switch (spec.kind) {
    case 'microtubules':
      widthUm = 0.025;
      for (let i = 0; i < Math.max(2, Math.round(0.12 * areaUm2 * density)); i++) {
        wormLike(c, rng, W, H, {
          stepUm: 0.05,
          lengthUm: rng.uniform(4, 12),
          turnRadPerUm: 0.12,
          perUm: rng.uniform(0.7, 1),
        });
      }
      break;
    case 'actin':
      widthUm = 0.015;
      for (let i = 0; i < Math.max(4, Math.round(0.4 * areaUm2 * density)); i++) {
        wormLike(c, rng, W, H, {
          stepUm: 0.04,
          lengthUm: rng.uniform(1, 5),
          turnRadPerUm: 0.35,
          perUm: rng.uniform(0.5, 1),
        });
      }
      break;
    case 'ccps':
      widthUm = 0.02;
      for (let i = 0; i < Math.max(3, Math.round(0.6 * areaUm2 * density)); i++) {
        c.circle(rng.uniform(0, W), rng.uniform(0, H), rng.uniform(0.05, 0.1), rng.uniform(0.6, 1));
      }
      break;
    case 'er':
      widthUm = 0.04;
      network(c, rng, W, H, Math.max(6, Math.round(0.35 * areaUm2 * density)));
      break;
    case 'beads':
      widthUm = 0.01;
      for (let i = 0; i < Math.max(3, Math.round(0.15 * areaUm2 * density)); i++) {
        c.disc(rng.uniform(0, W), rng.uniform(0, H), 0.05, rng.uniform(0.5, 1));
      }
      break;
  }
  let max = 0;
  for (const v of c.data) max = Math.max(max, v);
  if (max > 0) for (let i = 0; i < c.data.length; i++) c.data[i] = c.data[i]! / max;
  return { data: c.data, widthUm };
}

/** A filament as a persistent random walk starting at a random point. */
function wormLike(
  c: Canvas,
  rng: Rng,
  W: number,
  H: number,
  o: { stepUm: number; lengthUm: number; turnRadPerUm: number; perUm: number },
): void {
  let x = rng.uniform(0, W);
  let y = rng.uniform(0, H);
  let a = rng.uniform(0, 2 * Math.PI);
  const xs = [x];
  const ys = [y];
  const sd = o.turnRadPerUm * Math.sqrt(o.stepUm);
  for (let s = 0; s < o.lengthUm; s += o.stepUm) {
    a += sd * rng.normal();
    x += o.stepUm * Math.cos(a);
    y += o.stepUm * Math.sin(a);
    xs.push(x);
    ys.push(y);
  }
  c.polyline(xs, ys, o.perUm);
}

/** ER-like network: random nodes, each joined to its 3 nearest neighbours by gently curved tubules. */
function network(c: Canvas, rng: Rng, W: number, H: number, nodes: number): void {
  const px: number[] = [];
  const py: number[] = [];
  for (let i = 0; i < nodes; i++) {
    px.push(rng.uniform(0, W));
    py.push(rng.uniform(0, H));
  }
  const done = new Set<string>();
  for (let i = 0; i < nodes; i++) {
    const near = px
      .map((_, j) => ({ j, d: Math.hypot(px[j]! - px[i]!, py[j]! - py[i]!) }))
      .filter((e) => e.j !== i)
      .sort((a, b) => a.d - b.d)
      .slice(0, 3);
    for (const { j, d } of near) {
      const key = i < j ? `${i},${j}` : `${j},${i}`;
      if (done.has(key)) continue;
      done.add(key);
      // A quadratic Bézier with its control point pushed sideways by up to 20% of the length.
      const mx =
        (px[i]! + px[j]!) / 2 + rng.uniform(-0.2, 0.2) * d * -Math.sin(Math.atan2(py[j]! - py[i]!, px[j]! - px[i]!));
      const my =
        (py[i]! + py[j]!) / 2 + rng.uniform(-0.2, 0.2) * d * Math.cos(Math.atan2(py[j]! - py[i]!, px[j]! - px[i]!));
      const xs: number[] = [];
      const ys: number[] = [];
      for (let t = 0; t <= 1.0001; t += 0.05) {
        xs.push((1 - t) ** 2 * px[i]! + 2 * (1 - t) * t * mx + t * t * px[j]!);
        ys.push((1 - t) ** 2 * py[i]! + 2 * (1 - t) * t * my + t * t * py[j]!);
      }
      c.polyline(xs, ys, rng.uniform(0.6, 1));
    }
  }
}
