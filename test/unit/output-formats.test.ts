/** The `formats` rule (shared/request/output-formats.ts), as the master, the CLI and the web API apply it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { requestFromOptions } from '../../cli/request-options.js';
import { UsageError } from '../../cli/usage-error.js';
import { InvalidRequestError } from '../../shared/errors.js';
import { parseFormats } from '../../shared/request/output-formats.js';
import { parseRequest } from '../../shared/request/request-rules.js';
import { requestFromBody } from '../../web/api/request-body.js';

const DEFAULTS = { earthdailyBands: { red: 3, nir: 4 } };

describe('output formats', () => {
  test('png by default; cog, both, any case, repeats and NULLs ignored, in a fixed order', () => {
    assert.deepEqual(parseFormats(null), ['png']);
    assert.deepEqual(parseFormats([]), ['png']);
    assert.deepEqual(parseFormats([null]), ['png']);
    assert.deepEqual(parseFormats(['cog']), ['cog']);
    assert.deepEqual(parseFormats([' COG ', 'png', 'cog']), ['png', 'cog']);
  });

  test('an unknown format is an InvalidRequestError naming the ones there are', () => {
    assert.throws(() => parseFormats(['png', 'jpeg']), (error: unknown) => error instanceof InvalidRequestError && error.message === 'unknown output format "jpeg"; tessera writes png, cog (e.g. formats = \'{png,cog}\')');
    assert.throws(() => parseFormats(Array.from({ length: 100 }, () => 'png')), /100 formats requested/);
  });

  test('a request row carries its formats into the job', () => {
    const row = { id: '1', source: 'sentinel2', bands: { red: '/r.tif', nir: '/n.tif' }, indices: ['ndvi'], reflectanceOffset: null, stripRows: null };
    assert.deepEqual(parseRequest(row, DEFAULTS).formats, ['png']);
    assert.deepEqual(parseRequest({ ...row, formats: ['cog', 'png'] }, DEFAULTS).formats, ['png', 'cog']);
  });

  test('CLI --formats and the web API body go through the same rule', () => {
    const cli = { source: 'sentinel2', band: ['red=/r.tif', 'nir=/n.tif'], index: 'ndvi' };
    assert.deepEqual(requestFromOptions({ ...cli, formats: 'png,cog' }, DEFAULTS).formats, ['png', 'cog']);
    assert.equal(requestFromOptions(cli, DEFAULTS).formats, undefined);
    assert.throws(() => requestFromOptions({ ...cli, formats: 'tif' }, DEFAULTS), (error: unknown) => error instanceof UsageError && /unknown output format "tif"/.test(error.message));
    assert.deepEqual(requestFromBody({ formats: ['cog'] }).formats, ['cog']);
    assert.throws(() => requestFromBody({ formats: 'cog' }), /formats must be an array of output formats/);
  });
});
