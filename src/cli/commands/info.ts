// `rdl info <file>`: what a microscopy file holds (format, size, type, pixel size). Reads headers
// only — no pixels, no engine — so it is instant on any file size.
import type { Command } from 'commander';
import { mrcDtype, readMrcHeader } from '../../io/mrc.js';
import { detectFormat } from '../../io/stack.js';
import { readTiffInfo } from '../../io/tiff.js';

export interface FileInfo {
  format: 'mrc' | 'tiff';
  width: number;
  height: number;
  frames: number;
  dtype: string;
  pixelSizeUm: { x: number; y: number; z: number | null } | null;
  [extra: string]: unknown;
}

export function fileInfo(path: string): FileInfo {
  if (detectFormat(path) === 'mrc') {
    const h = readMrcHeader(path);
    // An OTF (complex data, or one real row in a Priism header, as the reference's radial OTFs):
    // its cell lengths are frequency steps in cycles/µm, not a pixel size.
    const otf = h.mode === 4 || (h.ny === 1 && h.nz === 1 && h.priism);
    return {
      format: 'mrc',
      width: h.nx,
      height: h.ny,
      frames: h.nz,
      dtype: mrcDtype(h),
      pixelSizeUm: otf ? null : h.pixelSizeUm,
      ...(otf
        ? {
            kind: h.ny === 1 ? 'radial OTF' : 'OTF (frequency space)',
            // As readRadialOtf reads it: the cell lengths themselves, whatever the header style.
            frequencyStepPerUm: { x: h.cellA[0], y: h.cellA[1], z: h.cellA[2] },
          }
        : {}),
      mode: h.mode,
      title: h.labels[0] ?? '',
      labels: h.labels,
      cell: h.cellA,
      byteOrder: h.littleEndian ? 'little-endian' : 'big-endian',
      headerStyle: h.priism ? 'Priism' : 'MRC',
      extendedHeaderBytes: h.next,
      dmin: h.dmin,
      dmax: h.dmax,
      dmean: h.dmean,
    };
  }
  const t = readTiffInfo(path);
  return {
    format: 'tiff',
    width: t.width,
    height: t.height,
    frames: t.pages,
    dtype: t.dtype,
    pixelSizeUm: t.pixelSizeUm,
    compression: t.compression,
    byteOrder: t.littleEndian ? 'little-endian' : 'big-endian',
    bigTiff: t.bigTiff,
    imagej: t.imagej,
  };
}

function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the format, dimensions, data type and pixel size of an MRC or TIFF file')
    .argument('<file>', 'an .mrc or .tif file')
    .option('--json', 'print the result as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const i = fileInfo(file);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(i, null, 2)}\n`);
        return;
      }
      const px = i.pixelSizeUm;
      const lines = [
        `format:     ${i.format.toUpperCase()}${i.format === 'mrc' ? ` (mode ${i.mode}, ${i.headerStyle} header)` : ` (${i.compression}${i.bigTiff ? ', BigTIFF' : ''})`}, ${i.byteOrder}`,
        `dimensions: x ${i.width}, y ${i.height}, ${i.format === 'mrc' ? 'z/frames' : 'pages'} ${i.frames}`,
        `dtype:      ${i.dtype}`,
      ];
      const step = i.frequencyStepPerUm as { x: number; y: number; z: number | null } | null | undefined;
      if (i.kind !== undefined) {
        lines.push(
          `content:    ${i.kind}, in frequency space`,
          `freq. step: ${step ? `x ${fmt(step.x)} cycles/µm${i.height > 1 ? `, y ${fmt(step.y)} cycles/µm` : ''}${step.z !== null && i.frames > 1 ? `, z ${fmt(step.z)} cycles/µm` : ''}` : 'unknown'} (header cell lengths)`,
        );
      } else {
        lines.push(
          `pixel size: ${px ? `x ${fmt(px.x)} µm, y ${fmt(px.y)} µm${px.z !== null ? `, z ${fmt(px.z)} µm` : ''}` : 'unknown'}`,
        );
      }
      if (i.format === 'mrc') lines.push(`title:      ${i.title}`);
      const ij = i.imagej as { channels: number; slices: number; frames: number } | null | undefined;
      if (ij) lines.push(`ImageJ:     channels ${ij.channels}, slices ${ij.slices}, frames ${ij.frames}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
