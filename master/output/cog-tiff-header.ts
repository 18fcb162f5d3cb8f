/**
 * Everything of a mosaic's Cloud-Optimized GeoTIFF before its tile data, laid out as GDAL's COG
 * driver does (and validate_cloud_optimized_geotiff.py checks): the TIFF header, GDAL's structural
 * metadata ("ghost area": IFDs before data, blocks in row-major order, each with a 4-byte size
 * leader and its last 4 bytes repeated after it), the full-resolution IFD, the overview IFDs from
 * the largest to the smallest, then the tiles: the smallest overview's first, the full
 * resolution's last. uint8 codes, DEFLATE (8), no predictor, 512 x 512 tiles, GDAL_NODATA "0", the
 * grid's origin and pixel size (ModelTiepoint, ModelPixelScale) and its EPSG code (GeoKeys).
 */
import { TesseraError } from '../../shared/errors.js';
import { COG_TILE, type LevelSize } from '../../shared/cog/cog-geometry.js';
import type { OutputGrid } from './georeference.js';
import { encodeIfd, ifdLength, TIFF_ASCII, TIFF_DOUBLE, TIFF_LONG, TIFF_SHORT, type IfdEntry } from './tiff-ifd.js';

/** Each tile's leader (its size, uint32) and trailer (its last 4 bytes again). */
export const TILE_LEADER = 4;
export const TILE_TRAILER = 4;

const GHOST_BODY =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';
const GHOST = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST_BODY.length).padStart(6, '0')} bytes\n${GHOST_BODY}`;

/** A classic TIFF's offsets are 32-bit. */
const MAX_FILE_BYTES = 2 ** 32 - 1;

/** One level of the file: its size and its tiles' byte counts, row-major. */
export interface CogLevel extends LevelSize {
  readonly tileBytes: readonly number[];
}

export interface CogHeader {
  readonly header: Buffer;
  /** Per level (0 = full resolution), per tile row-major: where the tile's data starts. */
  readonly tileOffsets: readonly (readonly number[])[];
  /** The whole file's length. */
  readonly fileBytes: number;
}

/** GeoKeyDirectory: a projected or geographic CRS by EPSG code, pixels as areas. */
function geoKeys(epsg: number, crsWkt: string): number[] {
  const geographic = /^\s*(GEOGCS|GEOGCRS|GEODCRS|GEOGRAPHICCRS)\b/i.test(crsWkt);
  const keys: [number, number][] = [
    [1024, geographic ? 2 : 1], // GTModelTypeGeoKey: 1 projected, 2 geographic
    [1025, 1], // GTRasterTypeGeoKey: RasterPixelIsArea
    [geographic ? 2048 : 3072, epsg], // GeographicTypeGeoKey / ProjectedCSTypeGeoKey
  ];
  return [1, 1, 0, keys.length, ...keys.flatMap(([key, value]) => [key, 0, 1, value])];
}

function levelEntries(level: CogLevel, offsets: readonly number[], overview: boolean): IfdEntry[] {
  return [
    ...(overview ? [{ tag: 254, type: TIFF_LONG, values: [1] }] : []), // NewSubfileType: reduced resolution
    { tag: 256, type: TIFF_LONG, values: [level.width] },
    { tag: 257, type: TIFF_LONG, values: [level.height] },
    { tag: 258, type: TIFF_SHORT, values: [8] }, // BitsPerSample
    { tag: 259, type: TIFF_SHORT, values: [8] }, // Compression: DEFLATE (zlib)
    { tag: 262, type: TIFF_SHORT, values: [1] }, // PhotometricInterpretation: BlackIsZero
    { tag: 277, type: TIFF_SHORT, values: [1] }, // SamplesPerPixel
    { tag: 284, type: TIFF_SHORT, values: [1] }, // PlanarConfiguration: chunky
    { tag: 322, type: TIFF_SHORT, values: [COG_TILE] }, // TileWidth
    { tag: 323, type: TIFF_SHORT, values: [COG_TILE] }, // TileLength
    { tag: 324, type: TIFF_LONG, values: offsets }, // TileOffsets
    { tag: 325, type: TIFF_LONG, values: level.tileBytes }, // TileByteCounts
    { tag: 339, type: TIFF_SHORT, values: [1] }, // SampleFormat: unsigned
    { tag: 42113, type: TIFF_ASCII, values: '0' }, // GDAL_NODATA
  ];
}

function geoEntries(grid: OutputGrid, crsWkt: string): IfdEntry[] {
  return [
    { tag: 33550, type: TIFF_DOUBLE, values: [grid.pixelWidth, grid.pixelHeight, 0] }, // ModelPixelScale
    { tag: 33922, type: TIFF_DOUBLE, values: [0, 0, 0, grid.originX, grid.originY, 0] }, // ModelTiepoint
    { tag: 34735, type: TIFF_SHORT, values: geoKeys(grid.epsg, crsWkt) }, // GeoKeyDirectory
  ];
}

/** The header of a COG whose levels (0 = full resolution, then the overviews) have these tiles. */
export function cogHeader(levels: readonly CogLevel[], grid: OutputGrid, crsWkt: string): CogHeader {
  if (levels.length === 0) throw new TesseraError('COG: no levels');
  const entriesOf = (offsets: readonly (readonly number[])[]): IfdEntry[][] =>
    levels.map((level, i) => [...levelEntries(level, offsets[i]!, i > 0), ...(i === 0 ? geoEntries(grid, crsWkt) : [])]);
  // Directory lengths depend on the entries' counts only: lay them out with placeholder offsets first.
  const placeholders = levels.map((level) => level.tileBytes.map(() => 0));
  const firstIfd = 8 + GHOST.length + (GHOST.length % 2);
  const ifdPositions: number[] = [];
  let position = firstIfd;
  for (const entries of entriesOf(placeholders)) {
    ifdPositions.push(position);
    position += ifdLength(entries);
  }
  // Tile data: the smallest overview first, the full resolution last; each tile with leader and trailer.
  const tileOffsets: number[][] = levels.map(() => []);
  for (let i = levels.length - 1; i >= 0; i--) {
    for (const bytes of levels[i]!.tileBytes) {
      tileOffsets[i]!.push(position + TILE_LEADER);
      position += TILE_LEADER + bytes + TILE_TRAILER;
    }
  }
  if (position > MAX_FILE_BYTES) {
    throw new TesseraError(`the COG would be ${position} bytes, more than a classic TIFF's 4 GiB (BigTIFF is not written); ask for png only`);
  }
  const parts: Buffer[] = [Buffer.alloc(firstIfd)];
  parts[0]!.write('II', 0, 'latin1');
  parts[0]!.writeUInt16LE(42, 2);
  parts[0]!.writeUInt32LE(firstIfd, 4);
  parts[0]!.write(GHOST, 8, 'latin1');
  entriesOf(tileOffsets).forEach((entries, i) => parts.push(encodeIfd(entries, ifdPositions[i]!, ifdPositions[i + 1] ?? 0)));
  return { header: Buffer.concat(parts), tileOffsets, fileBytes: position };
}
