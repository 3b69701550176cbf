// The pixel formulas of tools/make_io_fixtures.py, recomputed here to check what we read.
export const W = 16;
export const H = 12;
export const P = 3;

/** (p*1000 + y*31 + x*7) mod 2^bits, pages × rows × columns, x fastest. */
export function uintValues(bits: number, pages = P): number[] {
  const out: number[] = [];
  for (let p = 0; p < pages; p++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.push((p * 1000 + y * 31 + x * 7) % 2 ** bits);
  return out;
}

export function floatValues(pages = P): number[] {
  const out: number[] = [];
  for (let p = 0; p < pages; p++)
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out.push(p * 100 + y * 1.5 - x * 0.25);
  return out;
}
