/**
 * The request rules as a client applies them before inserting a row (`tessera submit`, `tessera
 * run`, the web API): the row as the table would hold it (column defaults filled in) goes through
 * the master's parseRequest, so a bad request is refused at once with the message its row would get.
 * What only the master can know (its EARTHDAILY_MOSAIC_URL, whether the files open) it checks later.
 */
import type { BandLayout, Env } from '../config/env.js';
import { MASTER_VARIABLES } from '../config/master-config.js';
import type { NewMosaicRequest } from '../../master/store/request-store.js';
import type { MosaicJob } from '../types.js';
import { parseRequest } from './request-rules.js';

/** What a client checks a request against. */
export interface ClientRequestDefaults {
  /** The EarthDaily band layout (EARTHDAILY_BANDS as this process sees it; the master's usually agrees). */
  readonly earthdailyBands: BandLayout;
}

/**
 * Stands for the master's EARTHDAILY_MOSAIC_URL when a request leaves its url to the master: a
 * client cannot see that setting, so it checks the rest of the request against this.
 */
const URL_LEFT_TO_MASTER = 'https://earthdaily-mosaic-url.invalid/left-to-the-master.tif';

export function clientRequestDefaults(env: Env): ClientRequestDefaults {
  return { earthdailyBands: MASTER_VARIABLES.earthdailyBands.read(env) };
}

/** Throws the InvalidRequestError the master would record for this request; returns nothing otherwise. */
export function checkNewRequest(request: NewMosaicRequest, defaults: ClientRequestDefaults): void {
  parseNewRequest(request, defaults);
}

/** The job the master would make of this request (what checkNewRequest checks), or its InvalidRequestError. */
export function parseNewRequest(request: NewMosaicRequest, defaults: ClientRequestDefaults): MosaicJob {
  return parseRequest(
    // The row as the table would hold it: the columns a request leaves out take their defaults.
    { ...request, id: 'new', source: request.source ?? 'sentinel2', bands: request.bands ?? {}, reflectanceOffset: request.reflectanceOffset ?? null, stripRows: request.stripRows ?? null, formats: request.formats ?? null },
    { earthdailyBands: defaults.earthdailyBands, earthdailyUrl: URL_LEFT_TO_MASTER },
  );
}
