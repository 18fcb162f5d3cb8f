/**
 * An independent per-pixel computation of the 8-bit index codes, written for the tests from the
 * formulas in ../shared/domain.md: float64 throughout, straight from geotiff's decoding of the whole
 * band, no tiling, no shared code with the worker.
 */
import { fromFile } from 'geotiff';

export interface ReferenceRaster {
  readonly width: number;
  readonly height: number;
  readonly codes: Uint8Array;
}

/** Reads bands (1-based numbers) of one file in full. */
export async function readBands(path: string, bands: readonly number[]): Promise<{ width: number; height: number; data: number[][] }> {
  const tiff = await fromFile(path);
  const image = await tiff.getImage(0);
  const rasters = await image.readRasters({ samples: bands.map((b) => b - 1), interleave: false });
  const data = bands.map((_, i) => Array.from(rasters[i] as ArrayLike<number>));
  return { width: image.getWidth(), height: image.getHeight(), data };
}

/** code = 1 + round((clamp(index, -1, 1) + 1) * 127); 0 for no-data. */
export function referenceCode(a: number, b: number, offset: number, nodataA: number | null, nodataB: number | null): number {
  if (a === (nodataA ?? 0) || b === (nodataB ?? 0)) return 0;
  const ra = (a + offset) / 10000;
  const rb = (b + offset) / 10000;
  const denominator = ra + rb;
  if (!(denominator > 0)) return 0;
  const index = Math.max(-1, Math.min(1, (ra - rb) / denominator));
  return 1 + Math.round((index + 1) * 127);
}

/** Codes for (a − b)/(a + b) over two same-grid bands of one file. */
export async function referenceCodes(path: string, bandA: number, bandB: number, offset = 0): Promise<ReferenceRaster> {
  const { width, height, data } = await readBands(path, [bandA, bandB]);
  const [a, b] = data as [number[], number[]];
  const codes = new Uint8Array(width * height);
  for (let i = 0; i < codes.length; i += 1) codes[i] = referenceCode(a[i] as number, b[i] as number, offset, null, null);
  return { width, height, codes };
}

export interface Agreement {
  readonly total: number;
  readonly exact: number;
  readonly withinOne: number;
  readonly nodataMismatches: number;
}

/** How well two code rasters agree: exact, within ±1, and whether no-data (0) is identical. */
export function compareCodes(actual: Uint8Array, expected: Uint8Array): Agreement {
  if (actual.length !== expected.length) throw new Error(`size differs: ${actual.length} vs ${expected.length}`);
  let exact = 0;
  let withinOne = 0;
  let nodataMismatches = 0;
  for (let i = 0; i < actual.length; i += 1) {
    const x = actual[i] as number;
    const y = expected[i] as number;
    if ((x === 0) !== (y === 0)) nodataMismatches += 1;
    if (x === y) exact += 1;
    if (Math.abs(x - y) <= 1) withinOne += 1;
  }
  return { total: actual.length, exact, withinOne, nodataMismatches };
}
