// Sample panels: one PNG per validation, a row per held-out sample, columns input · output ·
// target, so a person can see at a glance what the network does. Tiles are painted into a raw
// RGB canvas here; sharp only renders the text (one SVG laid over the canvas) and encodes the PNG.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { ShapeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';

/** A 2-D image, row-major [y][x], values in any range. */
export interface PanelImage {
  data: Float32Array;
  width: number;
  height: number;
}

export interface PanelRow {
  input: PanelImage;
  output: PanelImage;
  target: PanelImage;
  metrics: { psnr: number; ssim: number; nrmse: number };
}

/** Pixels. Tiles are enlarged (integer factor) until the largest is at least MIN_TILE wide and high. */
const MIN_TILE = 160;
const PAD = 12; // outer margin and gap between columns
const TITLE_H = 32; // header line with the title
const CAPTION_H = 20; // "input" / "output" / "target"
const METRICS_H = 24; // metrics line under each row
const FONT = 'DejaVu Sans, sans-serif';

export interface PanelLayout {
  width: number;
  height: number;
  /** Size of every cell: each tile is centred in one. */
  cellW: number;
  cellH: number;
  /** Where tile (row, column 0 input | 1 output | 2 target) starts, and its enlargement factor. */
  tile: (row: number, col: number) => { x: number; y: number; scale: number };
}

function columns(r: PanelRow): [PanelImage, PanelImage, PanelImage] {
  return [r.input, r.output, r.target];
}

/** Pixel layout of a panel for these rows (exported so tests can find the tiles). */
export function panelLayout(rows: readonly PanelRow[]): PanelLayout {
  if (rows.length === 0) throw new ShapeError('a sample panel needs at least one row');
  const images = rows.flatMap(columns);
  for (const im of images) {
    if (!(im.width > 0 && im.height > 0) || im.data.length !== im.width * im.height) {
      throw new ShapeError(`panel image of ${im.data.length} values does not fit ${im.width} × ${im.height}`);
    }
  }
  const largest = Math.max(...images.map((im) => Math.max(im.width, im.height)));
  // The display size is the largest image, enlarged by an integer factor to reach MIN_TILE;
  // every image is then enlarged by the largest integer factor that keeps it within that size.
  const display = largest * Math.ceil(MIN_TILE / largest);
  const scaleOf = (im: PanelImage) => Math.max(1, Math.floor(display / Math.max(im.width, im.height)));
  const cellW = Math.max(...images.map((im) => im.width * scaleOf(im)));
  const cellH = Math.max(...images.map((im) => im.height * scaleOf(im)));
  const rowH = cellH + METRICS_H;
  return {
    width: 3 * cellW + 4 * PAD,
    height: TITLE_H + CAPTION_H + rows.length * rowH + PAD,
    cellW,
    cellH,
    tile: (row, col) => {
      const im = columns(rows[row] as PanelRow)[col] as PanelImage;
      const s = scaleOf(im);
      return {
        x: PAD + col * (cellW + PAD) + Math.floor((cellW - im.width * s) / 2),
        y: TITLE_H + CAPTION_H + row * rowH + Math.floor((cellH - im.height * s) / 2),
        scale: s,
      };
    },
  };
}

/** Min–max scales to 0…255; non-finite pixels are left out of the range and shown as 0. */
function toGrey(im: PanelImage): Uint8Array {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of im.data) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const k = hi > lo ? 255 / (hi - lo) : 0; // a flat image shows as black
  const out = new Uint8Array(im.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = im.data[i] as number;
    out[i] = Number.isFinite(v) ? Math.round((v - lo) * k) : 0;
  }
  return out;
}

/** Nearest-neighbour enlargement of a grey image by an integer factor into an RGB canvas. */
function paint(canvas: Uint8Array, canvasW: number, im: PanelImage, at: { x: number; y: number; scale: number }) {
  const grey = toGrey(im);
  const s = at.scale;
  for (let y = 0; y < im.height * s; y++) {
    const src = Math.floor(y / s) * im.width;
    let o = ((at.y + y) * canvasW + at.x) * 3;
    for (let x = 0; x < im.width * s; x++, o += 3) {
      const g = grey[src + Math.floor(x / s)] as number;
      canvas[o] = g;
      canvas[o + 1] = g;
      canvas[o + 2] = g;
    }
  }
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fixed(v: number, digits: number): string {
  if (Number.isNaN(v)) return '–';
  return Number.isFinite(v) ? v.toFixed(digits) : v > 0 ? '∞' : '−∞';
}

/** "PSNR 28.31 dB · SSIM 0.912 · NRMSE 0.123" */
function metricsText(m: PanelRow['metrics']): string {
  return `PSNR ${fixed(m.psnr, 2)} dB · SSIM ${fixed(m.ssim, 3)} · NRMSE ${fixed(m.nrmse, 3)}`;
}

function textSvg(layout: PanelLayout, title: string, rows: readonly PanelRow[]): string {
  const { width, height, cellW, cellH } = layout;
  const centre = (col: number) => PAD + col * (cellW + PAD) + cellW / 2;
  const text = (x: number, y: number, size: number, s: string, extra = '') =>
    `<text x="${x}" y="${y}" font-size="${size}" text-anchor="middle"${extra}>${escapeXml(s)}</text>`;
  const parts = [
    `<text x="${PAD}" y="${TITLE_H - 10}" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    ...['input', 'output', 'target'].map((c, col) => text(centre(col), TITLE_H + CAPTION_H - 6, 13, c)),
    ...rows.map((r, i) => {
      const y = TITLE_H + CAPTION_H + i * (cellH + METRICS_H) + cellH + METRICS_H - 8;
      return text(centre(1), y, 12, metricsText(r.metrics));
    }),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="${FONT}" fill="#222">${parts.join('')}</g></svg>`;
}

/**
 * Renders rows × 3 columns (input, output, target), each image min–max scaled to 8-bit grey and
 * enlarged (nearest neighbour, integer factor) to a common size, with the title, column captions
 * and each row's metrics under its output; writes the PNG atomically, creating the folder.
 */
export async function writePanelPng(path: string, title: string, rows: readonly PanelRow[]): Promise<void> {
  const layout = panelLayout(rows);
  const { width, height } = layout;
  const canvas = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((r, i) => {
    columns(r).forEach((im, col) => {
      paint(canvas, width, im, layout.tile(i, col));
    });
  });
  const png = await sharp(canvas, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(textSvg(layout, title, rows)), left: 0, top: 0 }])
    .png()
    .toBuffer();
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, [png]);
}
