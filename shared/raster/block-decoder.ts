// PLACEHOLDER until feat-decode lands: geotiff's decoder for every block.
import { getDecoder } from 'geotiff';

export interface BlockFormat {
  readonly compression: number;
  readonly predictor: number;
  readonly bitsPerSample: number;
  readonly sampleFormat: 1 | 2 | 3;
  readonly samplesPerPixel: number;
  readonly width: number;
  readonly rows: number;
  readonly littleEndian: boolean;
}

export async function decodeBlock(data: Uint8Array, format: BlockFormat): Promise<ArrayBuffer> {
  const decoder = await getDecoder(format.compression, {
    tileWidth: format.width,
    tileHeight: format.rows,
    predictor: format.predictor,
    bitsPerSample: Array.from({ length: format.samplesPerPixel }, () => format.bitsPerSample),
    planarConfiguration: 1,
    samplesPerPixel: format.samplesPerPixel,
  });
  const copy = new Uint8Array(data);
  return (await decoder.decode(copy.buffer)) as ArrayBuffer;
}
