// Rasterizing point-like fluorophores into an image: each point deposits its weight on the four
// nearest pixels (bilinear splat), so positions are sub-pixel exact in the first moment. Lines
// and circles are sampled densely (≤ ¼ pixel apart) with weight per unit length, so brightness
// does not depend on orientation.

export class Canvas {
  readonly data: Float64Array;
  constructor(
    readonly height: number,
    readonly width: number,
    /** Pixel size, µm. */
    readonly pixelUm: number,
  ) {
    this.data = new Float64Array(height * width);
  }
  /** Adds weight at (x, y) in pixels (pixel centres at integers); wraps around the edges. */
  point(x: number, y: number, weight: number): void {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    this.#add(x0, y0, weight * (1 - fx) * (1 - fy));
    this.#add(x0 + 1, y0, weight * fx * (1 - fy));
    this.#add(x0, y0 + 1, weight * (1 - fx) * fy);
    this.#add(x0 + 1, y0 + 1, weight * fx * fy);
  }
  #add(x: number, y: number, w: number): void {
    const xi = ((x % this.width) + this.width) % this.width;
    const yi = ((y % this.height) + this.height) % this.height;
    this.data[yi * this.width + xi]! += w;
  }
  /** A polyline through points given in µm, brightness `perUm` per µm of length. */
  polyline(xs: readonly number[], ys: readonly number[], perUm: number): void {
    for (let i = 0; i + 1 < xs.length; i++) this.segment(xs[i]!, ys[i]!, xs[i + 1]!, ys[i + 1]!, perUm);
  }
  /** A straight segment between two points in µm. */
  segment(x0: number, y0: number, x1: number, y1: number, perUm: number): void {
    const len = Math.hypot(x1 - x0, y1 - y0);
    const n = Math.max(1, Math.ceil((4 * len) / this.pixelUm));
    const w = (perUm * len) / n;
    for (let i = 0; i < n; i++) {
      const t = (i + 0.5) / n;
      this.point((x0 + t * (x1 - x0)) / this.pixelUm, (y0 + t * (y1 - y0)) / this.pixelUm, w);
    }
  }
  /** A circle (centre and radius in µm), brightness `perUm` per µm of circumference. */
  circle(cx: number, cy: number, radiusUm: number, perUm: number): void {
    const len = 2 * Math.PI * radiusUm;
    const n = Math.max(8, Math.ceil((4 * len) / this.pixelUm));
    const w = (perUm * len) / n;
    for (let i = 0; i < n; i++) {
      const a = (2 * Math.PI * i) / n;
      this.point((cx + radiusUm * Math.cos(a)) / this.pixelUm, (cy + radiusUm * Math.sin(a)) / this.pixelUm, w);
    }
  }
  /** A filled disc (a bead), total weight `total`, sampled on a ¼-pixel lattice. */
  disc(cx: number, cy: number, radiusUm: number, total: number): void {
    const step = this.pixelUm / 4;
    const pts: [number, number][] = [];
    for (let dy = -radiusUm; dy <= radiusUm; dy += step) {
      for (let dx = -radiusUm; dx <= radiusUm; dx += step)
        if (dx * dx + dy * dy <= radiusUm * radiusUm) pts.push([dx, dy]);
    }
    if (pts.length === 0) pts.push([0, 0]);
    for (const [dx, dy] of pts) this.point((cx + dx) / this.pixelUm, (cy + dy) / this.pixelUm, total / pts.length);
  }
}
