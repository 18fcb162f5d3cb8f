/**
 * The largest output a request may ask for, whatever its source (MAX_REQUEST_PIXELS): the output
 * grid is refused before a strip is planned, so a tiny file that declares a huge image (a sparse
 * 50000 × 50000 GeoTIFF is a few hundred KB) cannot hold the master and the queue behind it for
 * minutes. EarthDaily boxes are checked where their grid is planned (earthdaily-source.ts).
 */
import { InvalidRequestError } from '../../shared/errors.js';

/** Throws InvalidRequestError when `grid` holds more than `maxPixels` pixels; `what` names the input. */
export function checkPixelLimit(grid: { readonly width: number; readonly height: number }, maxPixels: number, what: string): void {
  const pixels = grid.width * grid.height;
  if (pixels <= maxPixels) return;
  throw new InvalidRequestError(
    `${what} would make an output of ${grid.width} × ${grid.height} = ${pixels} pixels, more than the ${maxPixels} this master allows ` +
      '(MAX_REQUEST_PIXELS); cut the scene into smaller files (e.g. gdal_translate -srcwin), or ask the operator to raise MAX_REQUEST_PIXELS',
  );
}
