/**
 * A worker's side of result files (master/dispatch/result-folder.ts): where the task offers a folder
 * this worker sees as the master does (the token file there holds the task's token), each index's
 * strip PNG is written there and the result says so instead of carrying the bytes. The master then
 * reads one file per index rather than receiving, framing and joining megabytes over gRPC.
 *
 * Anything that goes wrong (the folder is not there, the token differs, a write fails) leaves the
 * result as it was: the bytes go over gRPC, as they do with DIRECT_WRITES=off.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexTile, TileTask__Output } from '../shared/proto/tile-service.js';

/** Same name as the master's RESULT_TOKEN_FILE (the two sides share only the proto). */
const TOKEN_FILE = 'token';
/** Folders whose token was read, kept for the next strips (a run has one; a few runs at most). */
const KEEP_FOLDERS = 16;

export class ResultFiles {
  /** Folder → the token read there (null: no token could be read). */
  readonly #tokens = new Map<string, Promise<string | null>>();

  /**
   * Moves the PNGs of `tiles` into files when `task` offers a folder this worker sees; resolves to
   * whether it did (the tiles then carry png_in_file and png_size, and no bytes).
   */
  async leave(task: TileTask__Output, tiles: IndexTile[]): Promise<boolean> {
    const folder = task.resultFolder;
    if (!folder || !task.resultToken || !task.resultName || tiles.some((tile) => !(tile.png instanceof Uint8Array))) return false;
    if ((await this.#tokenOf(folder)) !== task.resultToken) return false;
    const written: string[] = [];
    try {
      for (const tile of tiles) {
        const path = join(folder, `${task.resultName}.${tile.index ?? ''}.png`);
        await writeFile(path, tile.png as Uint8Array, { flag: 'wx' });
        written.push(path);
      }
    } catch {
      await Promise.all(written.map((path) => unlink(path).catch(() => undefined)));
      return false;
    }
    for (const tile of tiles) {
      tile.pngSize = (tile.png as Uint8Array | undefined)?.length ?? 0;
      tile.png = Buffer.alloc(0);
      tile.pngInFile = true;
    }
    return true;
  }

  #tokenOf(folder: string): Promise<string | null> {
    let token = this.#tokens.get(folder);
    if (!token) {
      token = readFile(join(folder, TOKEN_FILE), 'utf8').catch(() => null);
      this.#tokens.set(folder, token);
      while (this.#tokens.size > KEEP_FOLDERS) this.#tokens.delete(this.#tokens.keys().next().value!);
    }
    return token;
  }
}
