/** A finished request's upload (Azure Data Lake): the run's last step before recording `completed`. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** Uploads a finished request's files somewhere else (Azure Data Lake); returns file name → URL. */
export interface OutputUploader {
  upload(requestId: string, files: readonly string[], options?: { signal?: AbortSignal }): Promise<Record<string, string>>;
}

/**
 * Uploads the published folder when an uploader is configured. A failure (after the uploader's
 * own retries) is recorded, not thrown: the mosaic is safe on the volume either way.
 */
export async function uploadOutputs(
  uploader: OutputUploader | undefined,
  requestId: string,
  folder: string,
  signal: AbortSignal,
  log: Logger,
): Promise<{ urls: Record<string, string> | null; error: string | null; ms: number }> {
  if (!uploader) return { urls: null, error: null, ms: 0 };
  const started = performance.now();
  const files = (await readdir(folder)).sort().map((name) => join(folder, name));
  try {
    const urls = await uploader.upload(requestId, files, { signal });
    log.info({ files: files.length }, 'outputs uploaded');
    return { urls, error: null, ms: performance.now() - started };
  } catch (error) {
    const message = describeError(error);
    log.error({ error: message }, 'upload failed; the outputs stay on the volume');
    return { urls: null, error: message, ms: performance.now() - started };
  }
}
