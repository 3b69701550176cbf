// The training report: one self-contained HTML page (plots inlined as SVG, the sample panel as a
// data URI, no scripts, fonts or network links), rewritten at each validation so a person can
// follow a run by reloading one file, even copied off the machine.
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ParameterError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';

export interface TrainPoint {
  iteration: number;
  loss: number;
}

export interface ReportData {
  /** e.g. "rdl train sr — model/" */
  title: string;
  /** e.g. "running: iteration 2000 of 100000", "finished", "interrupted at 1234" */
  status: string;
  /** Every logged training loss; long series are averaged down to MAX_PLOT_POINTS for the plot. */
  train: TrainPoint[];
  validation: Array<{ iteration: number; mse: number; nrmse: number; psnr: number; ssim: number; lr: number }>;
  best: { iteration: number; nrmse: number } | null;
  /** The latest sample panel PNG, embedded as a data URI. */
  panelPng: string | null;
  /** Shown as pretty JSON. */
  config: object;
  /** Shown as a small table. */
  machine: Record<string, string | number>;
  /** Optional paragraphs of plain text. */
  notes?: string[];
}

/** More points than a plot a few hundred pixels wide can show only slow the SVG down. */
const MAX_PLOT_POINTS = 1000;
const PLOT_W = 320; // px, one small plot; the loss plot is twice as wide
const PLOT_H = 180; // px

/**
 * Averages consecutive bins of equal count so that at most max points remain (each point is the
 * mean iteration and mean loss of its bin; the last bin may be shorter). Non-finite losses are
 * dropped first: they cannot be plotted and would poison their bin's mean.
 */
export function downsample(points: readonly TrainPoint[], max: number): TrainPoint[] {
  if (!(Number.isInteger(max) && max >= 1)) throw new ParameterError('max', 'an integer ≥ 1', max);
  const finite = points.filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.iteration));
  const size = Math.ceil(finite.length / max);
  if (size <= 1) return finite.map((p) => ({ iteration: p.iteration, loss: p.loss }));
  const out: TrainPoint[] = [];
  for (let start = 0; start < finite.length; start += size) {
    const bin = finite.slice(start, start + size);
    let it = 0;
    let loss = 0;
    for (const p of bin) {
      it += p.iteration;
      loss += p.loss;
    }
    out.push({ iteration: it / bin.length, loss: loss / bin.length });
  }
  return out;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type XY = { iteration: number; value: number };
/** A Vega-Lite spec that may sit inside hconcat (the package exports no name for it). */
type SubSpec = Extract<TopLevelSpec, { hconcat: unknown }>['hconcat'][number];

/** One line plot of value against iteration; log only when every value is positive. */
function linePlot(values: XY[], yTitle: string, log: boolean, width = PLOT_W): SubSpec {
  const useLog = log && values.every((v) => v.value > 0);
  return {
    width,
    height: PLOT_H,
    data: { values },
    mark: { type: 'line', point: values.length < 50 },
    encoding: {
      x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: useLog ? `${yTitle} (log scale)` : yTitle,
        scale: useLog ? { type: 'log' } : { zero: false },
      },
    },
  };
}

/** Finite values of one validation field, ready for linePlot. */
function series(data: ReportData, field: 'psnr' | 'ssim' | 'nrmse' | 'lr'): XY[] {
  return data.validation
    .map((v) => ({ iteration: v.iteration, value: v[field] }))
    .filter((p) => Number.isFinite(p.value));
}

/** SVG of the loss plot (null without positive losses) and of the two validation plots (null before any). */
async function plots(data: ReportData): Promise<{ loss: string | null; validation: [string, string] | null }> {
  const loss = downsample(data.train, MAX_PLOT_POINTS)
    .filter((p) => p.loss > 0) // a log axis cannot show 0
    .map((p) => ({ iteration: p.iteration, value: p.loss }));
  // A unit spec with its own data is a valid top-level spec; the types only say so for concat parts.
  const lossPlot = linePlot(loss, 'loss', true, 2 * PLOT_W) as TopLevelSpec;
  const lossSvg = loss.length > 0 ? await toSvg(lossPlot) : null;
  if (data.validation.length === 0) return { loss: lossSvg, validation: null };
  const quality = await toSvg({
    hconcat: [linePlot(series(data, 'psnr'), 'PSNR (dB)', false), linePlot(series(data, 'ssim'), 'SSIM', false)],
  });
  const error = await toSvg({
    hconcat: [linePlot(series(data, 'nrmse'), 'NRMSE', false), linePlot(series(data, 'lr'), 'learning rate', true)],
  });
  return { loss: lossSvg, validation: [quality, error] };
}

async function panelImg(path: string | null): Promise<string> {
  if (path === null) return '<p>No sample panel yet.</p>';
  try {
    const b64 = (await readFile(path)).toString('base64');
    return `<img src="data:image/png;base64,${b64}" alt="input, output and target of held-out samples">`;
  } catch (err) {
    return `<p>The sample panel ${escapeHtml(path)} could not be read: ${escapeHtml((err as Error).message)}</p>`;
  }
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
.status{font-weight:bold}.muted{color:#666}figure{margin:.5em 0}svg,img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.85em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}`;

/** The whole page as a string (exported for tests; writeReport writes it). */
export async function renderReport(data: ReportData): Promise<string> {
  const svg = await plots(data);
  const figure = (s: string) => `<figure>${s}</figure>`;
  const updated = new Date().toLocaleString('sv-SE'); // "2025-01-31 14:05:00", local time
  const best = data.best
    ? `<p>Best validation NRMSE ${data.best.nrmse.toPrecision(4)} at iteration ${data.best.iteration}.</p>`
    : '';
  const machine = Object.entries(data.machine)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(data.title)}</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(data.title)}</h1>
<p class="status">${escapeHtml(data.status)}</p><p class="muted">Updated ${updated}.</p>
${(data.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
<h2>Training loss</h2>
${svg.loss ? figure(svg.loss) : '<p>No training loss recorded yet.</p>'}
<h2>Validation (held-out samples)</h2>
<p>Metrics after min–max normalization of each image to [0, 1] (data range 1); SSIM with an 11×11 Gaussian window, σ 1.5.</p>
${svg.validation ? best + svg.validation.map(figure).join('') : '<p>No validation yet.</p>'}
<h2>Latest samples</h2>
${await panelImg(data.panelPng)}
<h2>Configuration</h2>
<pre>${escapeHtml(JSON.stringify(data.config, null, 2))}</pre>
<h2>Machine</h2>
<table>${machine}</table>
</body></html>
`;
}

/** Writes the report page atomically (temporary file, then rename), creating the folder. */
export async function writeReport(path: string, data: ReportData): Promise<void> {
  const html = await renderReport(data);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, [Buffer.from(html, 'utf8')]);
}
