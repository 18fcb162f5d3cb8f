/**
 * GET /api/requests/:id/files/:name — one file of a request's output folder (Range requests
 * included, via @fastify/static's send). Only a plain file name is looked up, and only a regular
 * file whose real path is inside the folder is served: no "..", no sub-folder, no symlink out.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/static'; // reply.sendFile
import type { RequestStore } from '../../master/store/request-store.js';

/** A name the route may look up: one path segment, not hidden, nothing a file system would read as a path. */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !name.startsWith('.') && !/[/\\\0]/.test(name);
}

/** Whether `name` in `folder` is a regular file whose real path is inside the folder's. */
async function isFileInside(folder: string, name: string): Promise<boolean> {
  try {
    const [root, path] = await Promise.all([realpath(folder), realpath(join(folder, name))]);
    return path.startsWith(root + sep) && (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The plain file names in a request's output folder (none when it has none, or it is gone). */
export async function listOutputFiles(folder: string | null): Promise<string[]> {
  if (folder === null) return [];
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile() && isPlainFileName(entry.name)).map((entry) => entry.name).sort();
  } catch {
    return [];
  }
}

export function registerFileRoute(app: FastifyInstance, store: RequestStore): void {
  app.get<{ Params: { id: string; name: string } }>('/api/requests/:id/files/:name', async (request, reply) => {
    const { id, name } = request.params;
    if (!isPlainFileName(name)) {
      return reply.code(400).send({ error: `"${name}" is not a file name: only the files directly in the request's folder are served` });
    }
    const row = await store.get(id);
    if (row === null) return reply.code(404).send({ error: `no request ${id}` });
    if (row.outputDir === null) return reply.code(404).send({ error: `request ${id} has no output folder (it is ${row.status})` });
    if (!(await isFileInside(row.outputDir, name))) return reply.code(404).send({ error: `request ${id} has no file "${name}"` });
    return reply.sendFile(name, row.outputDir, { dotfiles: 'deny', acceptRanges: true, cacheControl: false });
  });
}
