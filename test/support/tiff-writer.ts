/**
 * A small GeoTIFF writer for tests and fixtures: classic little-endian TIFF, striped or tiled,
 * chunky or planar, uncompressed or DEFLATE with the horizontal (2) or floating-point (3)
 * predictor, GeoKeys for one EPSG code, ModelPixelScale + ModelTiepoint (or a raw
 * ModelTransformation), and an optional GDAL_NODATA tag. geotiff's own writer only does
 * uncompressed strips, which is not what real imagery looks like. Builds the whole file in memory;
 * tiff-file-writer.ts writes the same files block by block to disk.
 */
import { even, writeHeader, writeIfd } from './tiff-entries.js';
import { blockRows, encodeBlock, firstBlockOffset, geoTiffEntries, planGeoTiff, type GeoTiffFormat } from './tiff-layout.js';

export interface GeoTiffWriterOptions extends GeoTiffFormat {
  /** One array per sample (band), each row-major width × height. */
  readonly samples: ReadonlyArray<ArrayLike<number>>;
  /** Blocks for which this returns true are written sparse (offset 0, byte count 0). */
  readonly sparse?: (block: { column: number; row: number; sample: number }) => boolean;
}

/** Encodes the image described by `options` as a complete GeoTIFF file. */
export function writeGeoTiff(options: GeoTiffWriterOptions): Buffer {
  const { width, height, samples } = options;
  const layout = planGeoTiff(options, samples.length);
  for (const [i, s] of samples.entries()) {
    if (s.length !== width * height) throw new Error(`writeGeoTiff: sample ${i} has ${s.length} values, expected ${width * height}`);
  }
  const { codec, blockWidth, blockHeight, blockSamples } = layout;

  const blocks: Buffer[] = [];
  for (let plane = 0; plane < layout.planes; plane++) {
    for (let row = 0; row < layout.down; row++) {
      for (let column = 0; column < layout.across; column++) {
        if (options.sparse?.({ column, row, sample: plane })) {
          blocks.push(Buffer.alloc(0));
          continue;
        }
        const rows = blockRows(layout, row);
        const raw = new Uint8Array(blockWidth * rows * blockSamples * codec.bytes);
        const view = new DataView(raw.buffer);
        for (let y = 0; y < rows; y++) {
          const gy = row * blockHeight + y;
          for (let x = 0; x < blockWidth; x++) {
            const gx = column * blockWidth + x;
            for (let s = 0; s < blockSamples; s++) {
              const source = samples[layout.planes > 1 ? plane : s]!;
              const value = gx < width && gy < height ? source[gy * width + gx]! : 0;
              codec.write(view, ((y * blockWidth + x) * blockSamples + s) * codec.bytes, value);
            }
          }
        }
        blocks.push(encodeBlock(layout, raw, rows));
      }
    }
  }

  // Layout: header, IFD, out-of-line values, then the blocks.
  let cursor = firstBlockOffset(layout);
  const offsets = blocks.map((block) => {
    const offset = block.length === 0 ? 0 : cursor;
    cursor += even(block.length);
    return offset;
  });
  const out = Buffer.alloc(cursor);
  writeHeader(out, 8);
  writeIfd(out, 8, geoTiffEntries(layout, offsets, blocks.map((b) => b.length)), 0);
  blocks.forEach((block, i) => block.copy(out, offsets[i]!));
  return out;
}
