/**
 * The environment `tessera run` gives the workers it starts (cli/one-shot.ts): pointed at the master,
 * without TLS, and without NODE_EXTRA_CA_CERTS exactly when the request reads only local files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerEnvironment } from '../../cli/one-shot.js';

const master = { address: '127.0.0.1:5999', token: 'run-token', logLevel: 'warn' } as const;
const callers = { PATH: '/usr/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', MASTER_TLS_CA: '/ca.pem', WORKER_TOKEN: 'theirs' };
const local = { source: 'sentinel2', bands: { red: '/data/B04.tif', nir: 'relative/B08.tif#1' }, indices: ['ndvi'] };

describe('workerEnvironment', () => {
  it('points the workers at the run\'s master, with its token and no TLS, keeping the rest of the caller\'s environment', () => {
    const env = workerEnvironment(callers, local, master);
    assert.equal(env['MASTER_ADDRESS'], '127.0.0.1:5999');
    assert.equal(env['WORKER_TOKEN'], 'run-token');
    assert.equal(env['LOG_LEVEL'], 'warn');
    assert.equal(env['WORKER_ID'], '');
    assert.equal(env['MASTER_TLS_CA'], '');
    assert.equal(env['WORKER_TLS_CERT'], '');
    assert.equal(env['PATH'], '/usr/bin');
  });

  it('leaves NODE_EXTRA_CA_CERTS out when every band is a local file', () => {
    assert.equal('NODE_EXTRA_CA_CERTS' in workerEnvironment(callers, local, master), false);
    assert.equal('NODE_EXTRA_CA_CERTS' in workerEnvironment(callers, { ...local, source: ' Sentinel2 ' }, master), false);
    const { source: _source, ...noSource } = local;
    assert.equal('NODE_EXTRA_CA_CERTS' in workerEnvironment(callers, noSource, master), false, 'no source: the column default, sentinel2');
  });

  it('keeps NODE_EXTRA_CA_CERTS where a worker may fetch over https', () => {
    const kept = (request: Parameters<typeof workerEnvironment>[1]) => workerEnvironment(callers, request, master)['NODE_EXTRA_CA_CERTS'];
    const bundle = callers.NODE_EXTRA_CA_CERTS;
    assert.equal(kept({ ...local, bands: { red: '/data/B04.tif', nir: 'https://example.test/B08.tif#1' } }), bundle, 'one band over https');
    assert.equal(kept({ ...local, bands: { red: 'HTTP://example.test/B04.tif', nir: '/data/B08.tif' } }), bundle, 'one band over http');
    assert.equal(kept({ source: 'earthdaily', url: 'https://example.test/mosaic.tif', ulLat: 1, ulLng: 2, lrLat: 0, lrLng: 3, indices: ['ndvi'] }), bundle, 'EarthDaily');
    assert.equal(kept({ source: 'stac', url: '/data/item.json', indices: ['ndvi'] }), bundle, 'a local STAC item may name remote assets');
    assert.equal(kept({ ...local, indices: ['no-such-index'] }), bundle, 'a request the master will refuse');
  });
});
