/**
 * A new mosaic_requests row as the table's column defaults make it from an INSERT: what the
 * in-memory store holds for `insert` (the contract tests hold both stores to the same rows).
 */
import { asJsonb } from './jsonb.js';
import type { MosaicRequestRow, NewMosaicRequest } from './request-store.js';

export function newRequestRow(id: string, request: NewMosaicRequest, now: Date): MosaicRequestRow {
  return {
    id,
    source: request.source ?? 'sentinel2',
    bands: request.bands === undefined ? {} : asJsonb(request.bands),
    indices: request.indices === undefined ? ['ndvi'] : [...request.indices],
    reflectanceOffset: request.reflectanceOffset ?? null,
    stripRows: request.stripRows ?? null,
    formats: request.formats ? [...request.formats] : ['png'],
    url: request.url ?? null,
    ulLat: request.ulLat ?? null,
    ulLng: request.ulLng ?? null,
    lrLat: request.lrLat ?? null,
    lrLng: request.lrLng ?? null,
    resolution: request.resolution ?? null,
    expression: request.expression ?? null,
    range: request.range === undefined || request.range === null ? null : [...request.range],
    maskClasses: request.maskClasses === undefined || request.maskClasses === null ? null : [...request.maskClasses],
    uploadUrls: null,
    uploadError: null,
    status: 'pending',
    tilesDone: 0,
    tilesTotal: null,
    outputDir: null,
    outputs: null,
    workerTiles: null,
    verification: null,
    timings: null,
    error: null,
    claimedBy: null,
    attempts: 0,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    heartbeatAt: null,
    updatedAt: now,
  };
}
