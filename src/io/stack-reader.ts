// An open MRC or TIFF stack read a frame range at a time, for time-lapses longer than memory: the
// header (and a TIFF's page index) is parsed once, each read costs only the frames asked for.
import { MrcReader, mrcDtype } from './mrc.js';
import { detectFormat, type ImageStack, type StackDtype, type StackFormat } from './stack.js';
import { TiffReader } from './tiff.js';

/** What a stack holds, without its pixels. */
export type StackInfo = Omit<ImageStack, 'data'>;

export interface StackReader {
  readonly info: StackInfo;
  /** Frames [start, end) as an ImageStack. */
  read(start: number, end: number): ImageStack;
  close(): void;
}

export function openStackReader(path: string): StackReader {
  const format: StackFormat = detectFormat(path);
  if (format === 'mrc') {
    const r = new MrcReader(path);
    const h = r.header;
    const px = h.pixelSizeUm;
    const info: StackInfo = {
      format,
      width: h.nx,
      height: h.ny,
      frames: h.nz,
      dtype: mrcDtype(h) === 'float16' ? 'float32' : (mrcDtype(h) as StackDtype), // half floats are read as float32
      pixelSizeUm: px ? { x: px.x, y: px.y, z: px.z } : null,
      mrc: h,
    };
    return {
      info,
      read: (start, end) => ({ ...info, data: r.read(start, end), frames: end - start }),
      close: () => r.close(),
    };
  }
  const r = new TiffReader(path);
  const t = r.info;
  const info: StackInfo = {
    format,
    width: t.width,
    height: t.height,
    frames: t.pages,
    dtype: t.dtype,
    pixelSizeUm: t.pixelSizeUm,
    tiff: t,
  };
  return {
    info,
    read: (start, end) => ({ ...info, data: r.read(start, end), frames: end - start }),
    close: () => r.close(),
  };
}
