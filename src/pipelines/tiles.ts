// Large fields in overlapping tiles: a network runs on tiles of at most `tile` px, and the tiles'
// outputs are blended with weights that fall smoothly to ~0 across the overlap, so no seam is
// left where one tile's border effects (zero padding, edge apodization) meet the next tile.
// An image no larger than the tile is one tile with weight 1: the whole-image result, unchanged.
import { ParameterError } from '../errors.js';

/** One tile: its origin and size in input pixels. */
export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Tile origins along one axis: equal steps, the last tile flush with the end. */
function axisStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const step = tile - overlap;
  const n = Math.ceil((size - tile) / step) + 1;
  // Spread the tiles evenly (rounded to even pixels, so 2× SR tiles align with the raw grid).
  return Array.from({ length: n }, (_, i) => Math.min(size - tile, 2 * Math.round((i * (size - tile)) / (n - 1) / 2)));
}

/** The tiles covering a width × height image. tile and overlap in pixels; overlap < tile / 2. */
export function planTiles(width: number, height: number, tile: number, overlap: number): Tile[] {
  if (!(Number.isInteger(tile) && tile >= 32 && tile % 2 === 0)) {
    throw new ParameterError('--tile', 'an even number of pixels ≥ 32', tile);
  }
  if (!(Number.isInteger(overlap) && overlap >= 0 && overlap < tile / 2)) {
    throw new ParameterError('--tile-overlap', `an integer in 0 … ${tile / 2 - 1} (less than half the tile)`, overlap);
  }
  const tiles: Tile[] = [];
  for (const y of axisStarts(height, tile, overlap)) {
    for (const x of axisStarts(width, tile, overlap)) {
      tiles.push({ x, y, width: Math.min(tile, width), height: Math.min(tile, height) });
    }
  }
  return tiles;
}

/**
 * Blending weight along one axis of a tile of n samples: a raised cosine over `ramp` samples at
 * each inner edge (edges on the image border keep weight 1), 1 in between.
 */
function axisWeights(n: number, ramp: number, atStart: boolean, atEnd: boolean): Float32Array {
  const w = new Float32Array(n).fill(1);
  for (let i = 0; i < ramp; i++) {
    const v = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / ramp);
    if (!atStart) w[i] = v;
    if (!atEnd) w[n - 1 - i] = v;
  }
  return w;
}

/**
 * Accumulates tile outputs (`planes` planes of the image, at `scale` × the tile grid) into a
 * weighted mean over the full image.
 */
export class TileBlender {
  readonly #sum: Float32Array;
  readonly #weight: Float32Array;
  readonly #width: number;
  readonly #height: number;

  constructor(
    readonly planes: number,
    width: number,
    height: number,
    readonly scale: number,
    readonly overlap: number,
  ) {
    this.#width = width * scale;
    this.#height = height * scale;
    this.#sum = new Float32Array(planes * this.#width * this.#height);
    this.#weight = new Float32Array(this.#width * this.#height);
  }

  /** Adds one tile's output [planes][tile.height·scale][tile.width·scale]. */
  add(t: Tile, values: Float32Array): void {
    const s = this.scale;
    const tw = t.width * s;
    const th = t.height * s;
    if (values.length !== this.planes * tw * th) {
      throw new Error(`tile output has ${values.length} values, expected ${this.planes * tw * th}`);
    }
    const ramp = this.overlap * s;
    const wx = axisWeights(tw, ramp, t.x === 0, (t.x + t.width) * s >= this.#width);
    const wy = axisWeights(th, ramp, t.y === 0, (t.y + t.height) * s >= this.#height);
    const W = this.#width;
    const plane = W * this.#height;
    for (let y = 0; y < th; y++) {
      const row = (t.y * s + y) * W + t.x * s;
      for (let x = 0; x < tw; x++) {
        const w = wy[y]! * wx[x]!;
        this.#weight[row + x]! += w;
        for (let p = 0; p < this.planes; p++) this.#sum[p * plane + row + x]! += w * values[(p * th + y) * tw + x]!;
      }
    }
  }

  /** The blended image [planes][height·scale][width·scale]. */
  result(): Float32Array {
    const plane = this.#width * this.#height;
    const out = this.#sum;
    for (let p = 0; p < this.planes; p++) {
      for (let i = 0; i < plane; i++) out[p * plane + i]! /= this.#weight[i];
    }
    return out;
  }
}

/** The tile's pixels of every plane of an image [planes][height][width]. */
export function cutTile(image: Float32Array, planes: number, width: number, height: number, t: Tile): Float32Array {
  const out = new Float32Array(planes * t.width * t.height);
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < t.height; y++) {
      const from = (p * height + t.y + y) * width + t.x;
      out.set(image.subarray(from, from + t.width), (p * t.height + y) * t.width);
    }
  }
  return out;
}
