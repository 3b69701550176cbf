// The training report and its sample panel: the PNG really shows the images, and the HTML page
// is self-contained, escaped, and plots what there is (saying so when there is nothing yet).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { type PanelImage, type PanelRow, panelLayout, writePanelPng } from '../../src/train/panels.js';
import { downsample, type ReportData, writeReport } from '../../src/train/report.js';

const dir = mkdtempSync(join(tmpdir(), 'rdl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function image(width: number, height: number, f: (x: number, y: number) => number): PanelImage {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { data, width, height };
}

const N = 32; // px, so the tiles are enlarged 5× to reach the 160 px minimum
const rows: PanelRow[] = [0, 1].map((i) => ({
  input: image(N, N, (x) => x * 10 + i), // ramp along x
  output: image(N, N, (x, y) => (x === 3 && y === 3 ? Number.NaN : x + y)), // one non-finite pixel
  target: image(N, N, (_x, y) => -y * 0.01), // ramp along y, negative values
  metrics: { psnr: 28.314, ssim: 0.9123, nrmse: 0.1234 },
}));

/** Grey values (first channel) of one tile of a decoded panel. */
function tilePixels(raw: Buffer, width: number, channels: number, at: { x: number; y: number }, size: number) {
  const out: number[] = [];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) out.push(raw[((at.y + y) * width + at.x + x) * channels] as number);
  return out;
}

test('panel PNG: expected size, tiles drawn min–max scaled, non-finite pixels shown as 0', async () => {
  const path = join(dir, 'samples', 'panel.png'); // the folder does not exist yet
  await writePanelPng(path, 'iteration 2000 <sr> & "quotes"', rows);
  const layout = panelLayout(rows);
  assert.equal(layout.cellW, 5 * N);
  assert.equal(layout.cellH, 5 * N);
  const meta = await sharp(path).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, layout.width);
  assert.equal(meta.height, layout.height);
  assert.ok(layout.width >= 3 * 5 * N && layout.height >= 2 * 5 * N);
  assert.deepEqual(readdirSync(join(dir, 'samples')), ['panel.png'], 'no temporary file left behind');

  const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  const tile = (row: number, col: number) => tilePixels(data, info.width, info.channels, layout.tile(row, col), 5 * N);
  const input = tile(0, 0);
  const target = tile(0, 2);
  // Each tile spans the full 8-bit range (min–max scaling), and input and target differ.
  for (const t of [input, target]) {
    assert.equal(Math.min(...t), 0);
    assert.equal(Math.max(...t), 255);
  }
  const differing = input.filter((v, i) => Math.abs(v - (target[i] as number)) > 10).length;
  assert.ok(differing > input.length / 2, `only ${differing} of ${input.length} pixels differ`);
  // Input ramps along x: constant down a column, increasing along a row (5 px blocks).
  assert.equal(input[0], input[(5 * N - 1) * 5 * N]);
  assert.ok((input[5 * N - 1] as number) > (input[0] as number));
  // The NaN pixel of the output (x 3, y 3) is black, its neighbour (x 4, y 3) is not.
  const output = tile(0, 1);
  assert.equal(output[(3 * 5 + 2) * 5 * N + 3 * 5 + 2], 0);
  assert.ok((output[(3 * 5 + 2) * 5 * N + 4 * 5 + 2] as number) > 0);
});

test('panel layout: images of different sizes share one cell size', () => {
  const mixed: PanelRow[] = [{ ...rows[0]!, input: image(16, 16, (x) => x), target: image(40, 20, (x) => x) }];
  const layout = panelLayout(mixed);
  assert.equal(layout.cellW, 160); // 40 × 4
  assert.equal(layout.cellH, 160); // 16 × 10 and 32 × 5
  assert.equal(layout.tile(0, 2).scale, 4);
  assert.equal(layout.tile(0, 0).scale, 10);
});

test('downsample: bin means of a known series, at most max points', () => {
  const series = Array.from({ length: 100_000 }, (_, i) => ({ iteration: i + 1, loss: i }));
  const d = downsample(series, 1000);
  assert.equal(d.length, 1000);
  assert.deepEqual(d[0], { iteration: 50.5, loss: 49.5 }); // mean of 1…100 and of 0…99
  assert.deepEqual(d[999], { iteration: 99_950.5, loss: 99_949.5 });
  // 10 points into at most 4: bins of 3, the last one shorter.
  const ten = Array.from({ length: 10 }, (_, i) => ({ iteration: i, loss: 2 * i }));
  assert.deepEqual(downsample(ten, 4), [
    { iteration: 1, loss: 2 },
    { iteration: 4, loss: 8 },
    { iteration: 7, loss: 14 },
    { iteration: 9, loss: 18 },
  ]);
  assert.deepEqual(downsample(ten, 10), ten, 'short series pass unchanged');
  assert.deepEqual(downsample([{ iteration: 1, loss: Number.NaN }, ...ten.slice(0, 2)], 10), ten.slice(0, 2));
});

function reportData(validations: number): ReportData {
  return {
    title: 'rdl train sr — <model> & "co"',
    status: 'running: iteration 2000 of 100000',
    train: Array.from({ length: 100_000 }, (_, i) => ({ iteration: i + 1, loss: 1 / (1 + i / 1000) })),
    validation: Array.from({ length: validations }, (_, i) => ({
      iteration: (i + 1) * 1000,
      mse: 0.01 / (i + 1),
      nrmse: 0.2 / (i + 1),
      psnr: 20 + i,
      ssim: 0.5 + i / 20,
      lr: 1e-4 * 0.5 ** i,
    })),
    best: validations > 0 ? { iteration: validations * 1000, nrmse: 0.2 / validations } : null,
    panelPng: join(dir, 'samples', 'panel.png'),
    config: { model: 'DFCAN', 'batch size': 4 },
    machine: { GPU: 'none', 'CPU threads': 16 },
    notes: ['Resumed from <checkpoint>.'],
  };
}

const countOf = (s: string, sub: string) => s.split(sub).length - 1;

test('report: three plots, embedded panel, escaped text, no network resources, atomic write', async () => {
  await writePanelPng(join(dir, 'samples', 'panel.png'), 'panel', rows);
  const path = join(dir, 'report', 'index.html');
  await writeReport(path, reportData(5));
  assert.deepEqual(readdirSync(join(dir, 'report')), ['index.html'], 'no temporary file left behind');
  const html = readFileSync(path, 'utf8');
  assert.ok(html.startsWith('<!doctype html>') && html.trimEnd().endsWith('</html>'));
  assert.equal(countOf(html, '<svg'), 3);
  assert.ok(html.includes('data:image/png;base64,'));
  assert.ok(html.includes('rdl train sr — &lt;model&gt; &amp; &quot;co&quot;'));
  assert.ok(!html.includes('<model>') && !html.includes('<checkpoint>'));
  assert.ok(html.includes('PSNR (dB)'));
  assert.ok(html.includes('data range 1'));
  assert.ok(!html.includes('No validation yet'));
  assert.ok(!/src="http/i.test(html) && !/<script/i.test(html) && !/<link/i.test(html));
  const withoutXmlns = html.replace(/xmlns(:\w+)?="https?:[^"]*"/g, '');
  assert.ok(!/https?:/i.test(withoutXmlns), 'only SVG namespaces may name a URL');
  // 100k training points are plotted as ≤ 1000: the page stays small (the panel is most of it).
  assert.ok(html.length < 1_000_000, `report is ${html.length} characters`);
});

test('report without validation says so and has only the loss plot', async () => {
  const path = join(dir, 'early.html');
  await writeReport(path, { ...reportData(0), panelPng: null, notes: [] });
  const html = readFileSync(path, 'utf8');
  assert.ok(html.includes('No validation yet'));
  assert.ok(html.includes('No sample panel yet'));
  assert.equal(countOf(html, '<svg'), 1);
});
