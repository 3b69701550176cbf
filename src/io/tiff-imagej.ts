// ImageJ's hyperstack metadata: the ImageDescription of the first page, "key=value" lines
// starting with "ImageJ=". Fiji reads images/channels/slices/frames for the axes, unit and
// spacing (z step, in `unit`) for calibration, and min/max for the display range.

export interface ImageJMeta {
  images: number;
  channels: number;
  slices: number;
  frames: number;
  unit?: string | undefined;
  /** z step in `unit`. */
  spacing?: number | undefined;
  /** Time between frames, seconds. */
  finterval?: number | undefined;
}

/** Parses an ImageJ description; null when the text is not one. */
export function parseImageJDescription(text: string): ImageJMeta | null {
  if (!text.startsWith('ImageJ=')) return null;
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const int = (k: string, d: number) => {
    const v = Number(kv.get(k));
    return Number.isInteger(v) && v > 0 ? v : d;
  };
  const num = (k: string) => {
    const v = Number(kv.get(k));
    return kv.has(k) && Number.isFinite(v) ? v : undefined;
  };
  const channels = int('channels', 1);
  const frames = int('frames', 1);
  const images = int('images', 1);
  const slices = int('slices', Math.max(1, Math.floor(images / (channels * frames))));
  return {
    images,
    channels,
    slices,
    frames,
    unit: kv.get('unit')?.replace(/\\u00B5/g, 'µ'),
    spacing: num('spacing'),
    finterval: num('finterval'),
  };
}

/** Microns per unit for ImageJ's length units; null for an unknown unit (e.g. "pixel"). */
export function unitToMicrons(unit: string): number | null {
  const u = unit.toLowerCase();
  if (u === 'micron' || u === 'microns' || u === 'µm' || u === 'um' || u === 'μm') return 1;
  if (u === 'nm' || u === 'nanometer') return 1e-3;
  if (u === 'mm') return 1e3;
  if (u === 'cm') return 1e4;
  if (u === 'm' || u === 'meter') return 1e6;
  return null;
}

/** The description rdl writes: ImageJ 1.x hyperstack keys in the order ImageJ itself writes them. */
export function buildImageJDescription(m: ImageJMeta & { range?: [number, number] }): string {
  const lines = ['ImageJ=1.11a', `images=${m.images}`];
  if (m.channels > 1) lines.push(`channels=${m.channels}`);
  if (m.slices > 1) lines.push(`slices=${m.slices}`);
  if (m.frames > 1) lines.push(`frames=${m.frames}`);
  if ([m.channels, m.slices, m.frames].filter((n) => n > 1).length > 1) lines.push('hyperstack=true');
  if (m.unit) lines.push(`unit=${m.unit}`);
  if (m.spacing !== undefined) lines.push(`spacing=${m.spacing}`);
  lines.push('loop=false');
  if (m.range) lines.push(`min=${m.range[0]}`, `max=${m.range[1]}`);
  return `${lines.join('\n')}\n`;
}
