/** tessera web's configuration and its request body: the loopback rule for WEB_TOKEN, the basemap, the JSON's shape. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, InvalidRequestError } from '../../shared/errors.js';
import { OPENSTREETMAP_TILES, loadWebConfig } from '../../shared/config/web-config.js';
import { bearerCheck } from '../../web/api/bearer-auth.js';
import { requestFromBody } from '../../web/api/request-body.js';

const TOKEN = 'a-web-token-0123456789';

describe('loadWebConfig', () => {
  it('defaults: loopback 8080, no token, OpenStreetMap, 5 minutes of workers', () => {
    assert.deepEqual(loadWebConfig({}), { webListen: '127.0.0.1:8080', webToken: undefined, webBasemapUrl: OPENSTREETMAP_TILES, webWorkersSeenS: 300, logLevel: 'info' });
  });

  it('refuses a reachable WEB_LISTEN without WEB_TOKEN, naming both', () => {
    for (const address of ['0.0.0.0:8080', '[::]:8080', '10.0.0.5:8080', 'web.example:80']) {
      assert.throws(() => loadWebConfig({ WEB_LISTEN: address }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /WEB_LISTEN/);
        assert.match(error.message, /WEB_TOKEN/);
        return true;
      });
      assert.equal(loadWebConfig({ WEB_LISTEN: address, WEB_TOKEN: TOKEN }).webListen, address);
    }
  });

  it('"none" turns the basemap off; a short token is refused without showing it', () => {
    assert.equal(loadWebConfig({ WEB_BASEMAP_URL: 'none' }).webBasemapUrl, null);
    assert.throws(() => loadWebConfig({ WEB_TOKEN: 'short' }), (error: unknown) => error instanceof ConfigError && !error.message.includes('short'));
  });
});

describe('bearerCheck', () => {
  it('lets everyone through without a token; with one, only its bearer', () => {
    assert.deepEqual(bearerCheck(undefined)(undefined), { ok: true });
    const check = bearerCheck(TOKEN);
    assert.deepEqual(check(`Bearer ${TOKEN}`), { ok: true });
    assert.deepEqual(check(`bearer ${TOKEN}`), { ok: true });
    for (const header of [undefined, '', TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, 'Bearer ']) assert.equal(check(header).ok, false, String(header));
  });
});

describe('requestFromBody', () => {
  it('maps the column names onto a new request; null is the column default', () => {
    assert.deepEqual(
      requestFromBody({ source: 'earthdaily', bands: { swir16: 5 }, indices: ['ndsi'], url: 'https://m/x.tif', ul_lat: 1, ul_lng: 2, lr_lat: 0, lr_lng: 3, resolution: 10, reflectance_offset: null, strip_rows: 32 }),
      { source: 'earthdaily', bands: { swir16: '5' }, indices: ['ndsi'], url: 'https://m/x.tif', ulLat: 1, ulLng: 2, lrLat: 0, lrLng: 3, resolution: 10, stripRows: 32 },
    );
    assert.deepEqual(requestFromBody({}), { indices: ['ndvi'] });
  });

  it('refuses what is not the shape of a request', () => {
    for (const body of [null, 'x', 3, [], { indices: [1] }, { bands: 'a.tif' }, { url: 5 }, { resolution: '10' }, { extra: 1 }]) {
      assert.throws(() => requestFromBody(body), InvalidRequestError, JSON.stringify(body));
    }
  });
});
