#!/usr/bin/python3
"""Writes the small cross-check fixtures under test/fixtures/io with independent writers
(tifffile, Pillow/libtiff, mrcfile), so rdl's readers are tested against other software.

Run with Debian's Python: apt-get install -y python3-tifffile python3-mrcfile python3-pil
    /usr/bin/python3 tools/make_io_fixtures.py

Pixel values follow formulas the tests recompute (test/io/fixtures.ts):
    uint  : (p*1000 + y*31 + x*7) % 2**bits   for page p, row y, column x
    float : p*100 + y*1.5 - x*0.25
"""
import os
import numpy as np
import tifffile
import mrcfile
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'io')
W, H, P = 16, 12, 3


def uint(dtype, pages=P):
    p, y, x = np.meshgrid(np.arange(pages), np.arange(H), np.arange(W), indexing='ij')
    bits = np.dtype(dtype).itemsize * 8
    return ((p * 1000 + y * 31 + x * 7) % (2 ** bits)).astype(dtype)


def flt(pages=P):
    p, y, x = np.meshgrid(np.arange(pages), np.arange(H), np.arange(W), indexing='ij')
    return (p * 100 + y * 1.5 - x * 0.25).astype(np.float32)


def path(name):
    return os.path.join(OUT, name)


os.makedirs(OUT, exist_ok=True)
# ImageJ hyperstack: 3 z-slices, 0.0626 µm pixels, 0.16 µm z spacing.
tifffile.imwrite(path('imagej_u16.tif'), uint(np.uint16), imagej=True,
                 resolution=(1 / 0.0626, 1 / 0.0626), metadata={'spacing': 0.16, 'unit': 'micron', 'axes': 'ZYX'})
tifffile.imwrite(path('deflate_pred_u16.tif'), uint(np.uint16), compression='zlib', predictor=True, photometric='minisblack')
tifffile.imwrite(path('deflate_old_u8.tif'), uint(np.uint8), compression=32946, photometric='minisblack')
tifffile.imwrite(path('bigendian_f32.tif'), flt(), byteorder='>', photometric='minisblack')
tifffile.imwrite(path('bigendian_u16.tif'), uint(np.uint16), byteorder='>', compression='zlib', predictor=True, photometric='minisblack')
tifffile.imwrite(path('bigtiff_u16.tif'), uint(np.uint16), bigtiff=True, photometric='minisblack')
tifffile.imwrite(path('int32_i32.tif'), uint(np.uint16).astype(np.int32) - 30000, photometric='minisblack')
tifffile.imwrite(path('tiled_u16.tif'), uint(np.uint16, 1)[0], tile=(16, 16))
# Pillow (libtiff) for LZW and PackBits, which tifffile cannot encode without imagecodecs.
frames = [Image.fromarray(a, mode='I;16') for a in uint(np.uint16)]
frames[0].save(path('lzw_u16.tif'), compression='tiff_lzw', save_all=True, append_images=frames[1:])
frames8 = [Image.fromarray(a) for a in uint(np.uint8)]
frames8[0].save(path('packbits_u8.tif'), compression='packbits', save_all=True, append_images=frames8[1:])
frames8[0].save(path('adobe_deflate_u8.tif'), compression='tiff_adobe_deflate', save_all=True,
                append_images=frames8[1:])
# MRC from mrcfile (MRC2014): int16 little-endian with a 0.1 µm pixel, float32 big-endian, signed int8.
with mrcfile.new(path('mrcfile_i16.mrc'), overwrite=True) as m:
    m.set_data(uint(np.uint16).astype(np.int16) - 20000)
    m.voxel_size = (1000.0, 1000.0, 2000.0)  # Å
with mrcfile.new(path('mrcfile_f32_be.mrc'), overwrite=True) as m:
    m.set_data(flt().astype('>f4'))
with mrcfile.new(path('mrcfile_i8.mrc'), overwrite=True) as m:
    m.set_data((uint(np.uint8).astype(np.int16) - 128).astype(np.int8))
for f in sorted(os.listdir(OUT)):
    print(f, os.path.getsize(path(f)))
