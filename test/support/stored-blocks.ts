/** The internal blocks of a TIFF exactly as stored, located with geotiff's directory (offsets and byte counts). */
import { fromArrayBuffer } from 'geotiff';

export interface StoredBlock {
  readonly column: number;
  readonly row: number;
  /** Planar files: the sample this block holds; chunky: 0. */
  readonly plane: number;
  /** The stored bytes (a view into the file). */
  readonly data: Buffer;
  /** Rows this block stores: the tile height, or for the last strip the rows that remain. */
  readonly rows: number;
}

export interface StoredLayout {
  readonly width: number;
  readonly height: number;
  readonly tiled: boolean;
  readonly blockWidth: number;
  /** Tile height, or RowsPerStrip. */
  readonly blockHeight: number;
  readonly samplesPerPixel: number;
  readonly planarConfiguration: 1 | 2;
  readonly blocks: readonly StoredBlock[];
}

/** Every stored block of the file's first image. */
export async function storedBlocks(file: Buffer): Promise<StoredLayout> {
  const tiff = await fromArrayBuffer(new Uint8Array(file).buffer);
  const image = await tiff.getImage(0);
  const directory = image.getFileDirectory();
  const tiled = image.isTiled;
  const offsets = Array.from((await directory.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number>);
  const counts = Array.from((await directory.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number>);
  const width = image.getWidth();
  const height = image.getHeight();
  const blockWidth = image.getTileWidth();
  const blockHeight = image.getTileHeight();
  const across = Math.ceil(width / blockWidth);
  const down = Math.ceil(height / blockHeight);
  const blocks = offsets.map((offset, index) => {
    const row = Math.floor(index / across) % down;
    return {
      column: index % across,
      row,
      plane: Math.floor(index / (across * down)),
      data: file.subarray(offset, offset + counts[index]!),
      rows: tiled ? blockHeight : Math.min(blockHeight, height - row * blockHeight),
    };
  });
  const planarConfiguration = (await directory.loadValue('PlanarConfiguration')) === 2 ? 2 : 1;
  return { width, height, tiled, blockWidth, blockHeight, samplesPerPixel: image.getSamplesPerPixel(), planarConfiguration, blocks };
}
