/**
 * Compares tessera's grey mosaic (codes in an 8-bit PNG) with the GDAL peer's codes, pixel by pixel,
 * with GDAL's own Python (it reads both formats, in strips, so a full tile needs little memory).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface CrossCheck {
  readonly pixels: number;
  readonly equal: number;
  readonly withinOne: number;
  /** Pixels no-data in one and not the other. */
  readonly nodataMismatch: number;
  readonly maxDifference: number;
  /** Same origin and pixel size (GDAL reads tessera's world file / .aux.xml). */
  readonly sameGeoTransform: boolean;
}

export type CrossCheckResult = CrossCheck | { readonly error: string };

const SCRIPT = `
import json, sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
a, b = gdal.Open(sys.argv[1]), gdal.Open(sys.argv[2])
size = (a.RasterXSize, a.RasterYSize)
if size != (b.RasterXSize, b.RasterYSize):
    print(json.dumps({"error": "sizes differ: %dx%d and %dx%d" % (size + (b.RasterXSize, b.RasterYSize))}))
    sys.exit(0)
ga, gb = a.GetGeoTransform(), b.GetGeoTransform()
same = all(abs(x - y) < 1e-6 for x, y in zip(ga, gb))
ba, bb = a.GetRasterBand(1), b.GetRasterBand(1)
w, h = size
n = equal = within = mismatch = worst = 0
for y in range(0, h, 512):
    rows = min(512, h - y)
    x = ba.ReadAsArray(0, y, w, rows).astype(np.int16)
    z = bb.ReadAsArray(0, y, w, rows).astype(np.int16)
    d = np.abs(x - z)
    n += d.size
    equal += int((d == 0).sum())
    within += int((d <= 1).sum())
    mismatch += int(((x == 0) != (z == 0)).sum())
    worst = max(worst, int(d.max()))
print(json.dumps({"pixels": n, "equal": equal, "withinOne": within, "nodataMismatch": mismatch, "maxDifference": worst, "sameGeoTransform": same}))
`;

export async function crossCheckCodes(python: string, tesseraGreyPng: string, gdalCodes: string): Promise<CrossCheckResult> {
  try {
    const { stdout } = await promisify(execFile)(python, ['-c', SCRIPT, tesseraGreyPng, gdalCodes], { maxBuffer: 1 << 20 });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as CrossCheckResult;
  } catch (error) {
    return { error: (error as Error).message.split('\n').slice(-3).join(' ') };
  }
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((100 * part) / whole).toFixed(whole - part < whole / 1e4 && part !== whole ? 4 : 2)} %`;
}
