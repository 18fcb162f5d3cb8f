/**
 * tessera web's HTTP API on the real PostgreSQL, over real HTTP on loopback: bad JSON and bad
 * requests answer 400 in the words the master would have put on the row; unknown ids 404; the web
 * token guards creating and cancelling; a file is served with Range, and nothing outside the
 * request's folder is; the list pages; /metrics counts the table.
 */
import assert from 'node:assert/strict';
import { OUTPUT_NAMES } from '../../shared/types.js';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { claimOf } from '../../master/store/request-store.js';
import { InvalidRequestError } from '../../shared/errors.js';
import { parseRequest } from '../../shared/request/request-rules.js';
import { startTestWeb, type TestWeb } from '../support/test-web.js';

const TOKEN = 'test-web-token-0123456789abcdef';
const GOOD = { source: 'sentinel2', bands: { red: '/data/B04.tif', nir: '/data/B08.tif' }, indices: ['ndvi'], strip_rows: 64 };

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

describe('tessera web HTTP API', () => {
  let web: TestWeb;
  let folder: string;

  async function call(method: string, path: string, options: { body?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['content-type'] ??= 'application/json';
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    const response = await fetch(`${web.url}${path}`, { method, headers, ...(options.body !== undefined ? { body: options.body } : {}) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
  }

  /** POSTs a request with the token (null: none). */
  const post = (body: unknown, token: string | null = TOKEN) => call('POST', '/api/requests', { body: JSON.stringify(body), ...(token !== null ? { token } : {}) });

  /** The message the master would record for these columns (through the same rules). */
  function masterMessage(fields: Parameters<typeof parseRequest>[0]): string {
    try {
      parseRequest(fields, { earthdailyBands: { blue: 1, green: 2, red: 3, nir: 4 }, earthdailyUrl: 'https://m.example/x.tif' });
    } catch (error) {
      assert.ok(error instanceof InvalidRequestError);
      return error.message;
    }
    assert.fail('the master would accept this request');
  }

  before(async () => {
    web = await startTestWeb({ WEB_TOKEN: TOKEN });
    folder = await mkdtemp(join(tmpdir(), 'tessera-web-api-'));
  });
  after(async () => {
    await web.stop();
    await rm(folder, { recursive: true, force: true });
  });

  test('POST /api/requests inserts the row and answers 201 with its id; GET shows it by its column names', async () => {
    const created = await post(GOOD);
    assert.equal(created.status, 201);
    const id = created.body['id'] as string;
    assert.match(id, /^[0-9]+$/);
    assert.equal(created.headers.get('location'), `/api/requests/${id}`);
    const row = await web.store.get(id);
    assert.deepEqual([row?.status, row?.bands, row?.indices, row?.stripRows], ['pending', GOOD.bands, ['ndvi'], 64]);
    const shown = await call('GET', `/api/requests/${id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual([shown.body['id'], shown.body['status'], shown.body['strip_rows'], shown.body['tiles_done'], shown.body['files']], [id, 'pending', 64, 0, []]);
    assert.equal(shown.body['output_dir'], undefined, 'the folder on the master is not shown');
  });

  test('bad JSON answers 400 saying so', async () => {
    for (const body of ['{"source": ', '[1, 2', 'not json']) {
      const answer = await call('POST', '/api/requests', { body, token: TOKEN });
      assert.equal(answer.status, 400, body);
      assert.match(answer.body['error'] as string, /^the body is not valid JSON/);
    }
    const array = await post([GOOD]);
    assert.equal(array.status, 400);
    assert.match(array.body['error'] as string, /the body must be a JSON object with the request's columns/);
  });

  test('a bad request answers 400 with the message its row would get from the master', async () => {
    const cases: [Record<string, unknown>, Parameters<typeof parseRequest>[0]][] = [
      [{ bands: { red: '/a.tif' }, indices: ['ndvi'] }, { id: 'x', source: 'sentinel2', bands: { red: '/a.tif' }, indices: ['ndvi'], reflectanceOffset: null, stripRows: null }],
      [{ ...GOOD, indices: ['gndvi'] }, { id: 'x', source: 'sentinel2', bands: GOOD.bands, indices: ['gndvi'], reflectanceOffset: null, stripRows: null }],
      [{ ...GOOD, source: 'landsat' }, { id: 'x', source: 'landsat', bands: GOOD.bands, indices: ['ndvi'], reflectanceOffset: null, stripRows: null }],
      [{ ...GOOD, strip_rows: 0 }, { id: 'x', source: 'sentinel2', bands: GOOD.bands, indices: ['ndvi'], reflectanceOffset: null, stripRows: 0 }],
      [{ ...GOOD, reflectance_offset: 1e9 }, { id: 'x', source: 'sentinel2', bands: GOOD.bands, indices: ['ndvi'], reflectanceOffset: 1e9, stripRows: null }],
      [{ ...GOOD, expression: 'process.exit(1)' }, { id: 'x', source: 'sentinel2', bands: GOOD.bands, indices: ['ndvi'], reflectanceOffset: null, stripRows: null, expression: 'process.exit(1)' }],
      [{ ...GOOD, expression: 'nir - red', range: [1, 0] }, { id: 'x', source: 'sentinel2', bands: GOOD.bands, indices: ['ndvi'], reflectanceOffset: null, stripRows: null, expression: 'nir - red', range: [1, 0] }],
      [
        { source: 'earthdaily', indices: ['ndvi'], ul_lat: 10, ul_lng: 5, lr_lat: 11, lr_lng: 6, resolution: 10 },
        { id: 'x', source: 'earthdaily', bands: {}, indices: ['ndvi'], reflectanceOffset: null, stripRows: null, ulLat: 10, ulLng: 5, lrLat: 11, lrLng: 6, resolution: 10 },
      ],
    ];
    for (const [body, fields] of cases) {
      const answer = await post(body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body['error'], masterMessage(fields));
    }
    const before = (await web.store.list({ limit: 200 })).length;
    assert.equal((await post({ ...GOOD, indices: ['gndvi'] })).status, 400);
    assert.equal((await web.store.list({ limit: 200 })).length, before, 'nothing inserted');
  });

  test('a body of the wrong shape answers 400 naming the field', async () => {
    const shapes: [unknown, RegExp][] = [
      [{ ...GOOD, tile_size: 64 }, /^unknown field "tile_size"; a request has source, bands, indices, url, reflectance_offset, strip_rows/],
      [{ ...GOOD, indices: 'ndvi' }, /^indices must be an array of index names, e\.g\. \["ndvi", "ndsi"\], got "ndvi"$/],
      [{ ...GOOD, bands: ['/a.tif'] }, /^bands must be a JSON object from band name to file/],
      [{ ...GOOD, bands: { red: 3.5, nir: '/b.tif' } }, /^band "red" must be a file path or URL string, got 3\.5$/],
      [{ ...GOOD, strip_rows: '64' }, /^strip_rows must be a number, got "64"$/],
      [{ ...GOOD, source: 7 }, /^source must be a string, got 7$/],
      [{ ...GOOD, expression: 42 }, /^expression must be a string, got 42$/],
      [{ ...GOOD, range: '0,1' }, /^range must be an array of numbers, e\.g\. \[-1, 1\], got "0,1"$/],
    ];
    for (const [body, pattern] of shapes) {
      const answer = await post(body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.match(answer.body['error'] as string, pattern);
    }
  });

  test('creating and cancelling need the web token; reading does not', async () => {
    for (const token of [null, 'wrong-token-0123456789abcdef']) {
      const answer = await post(GOOD, token);
      assert.equal(answer.status, 401);
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer');
    }
    assert.match((await post(GOOD, null)).body['error'] as string, /needs the web token: send Authorization: Bearer <WEB_TOKEN>/);
    assert.equal((await post(GOOD, 'wrong-token-0123456789abcdef')).body['error'], 'wrong web token');
    assert.equal((await call('POST', '/api/requests', { body: JSON.stringify(GOOD), headers: { authorization: 'Basic abc' } })).status, 401);
    const id = (await post(GOOD)).body['id'] as string;
    assert.equal((await call('POST', `/api/requests/${id}/cancel`)).status, 401);
    assert.equal((await web.store.get(id))?.status, 'pending', 'not cancelled without the token');
    assert.equal((await call('GET', `/api/requests/${id}`)).status, 200);
    assert.equal((await call('GET', '/api/requests')).status, 200);
    assert.equal((await call('GET', '/api/workers')).status, 200);
  });

  test('unknown ids answer 404, for the row, its cancel and its files', async () => {
    for (const id of ['999999', 'abc', '1;DROP']) {
      assert.equal((await call('GET', `/api/requests/${encodeURIComponent(id)}`)).status, 404);
      assert.equal((await call('POST', `/api/requests/${encodeURIComponent(id)}/cancel`, { token: TOKEN })).status, 404);
      assert.equal((await call('GET', `/api/requests/${encodeURIComponent(id)}/files/manifest.json`)).status, 404);
    }
    assert.match((await call('GET', '/api/requests/999999')).body['error'] as string, /^no request 999999$/);
  });

  test('cancel: a pending request becomes cancelled; an ended one answers 409', async () => {
    const id = (await post(GOOD)).body['id'] as string;
    const cancelled = await call('POST', `/api/requests/${id}/cancel`, { token: TOKEN });
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body['status'], 'cancelled');
    assert.equal((await web.store.get(id))?.status, 'cancelled');
    const again = await call('POST', `/api/requests/${id}/cancel`, { token: TOKEN });
    assert.equal(again.status, 409);
    assert.match(again.body['error'] as string, /has ended already \(cancelled\)/);
  });

  test('files: served from the request folder with Range; nothing outside it', async () => {
    const outputDir = join(folder, 'out');
    await mkdir(outputDir, { recursive: true });
    await writeFile(join(outputDir, 'ndvi.png'), Buffer.from('0123456789abcdef'));
    await writeFile(join(folder, 'secret.txt'), 'not yours');
    await symlink(join(folder, 'secret.txt'), join(outputDir, 'link.txt'));
    await mkdir(join(outputDir, 'sub'));
    await writeFile(join(outputDir, 'sub', 'x.txt'), 'nested');
    await writeFile(join(outputDir, '.hidden'), 'hidden');
    const id = await web.store.insert({ bands: GOOD.bands, indices: ['ndvi'] });
    let row = await web.store.claimNext('test-master', 60_000);
    while (row && row.id !== id) row = await web.store.claimNext('test-master', 60_000);
    assert.ok(row);
    await web.store.complete(claimOf(row), { outputDir, outputs: {}, workerTiles: {}, timings: {}, tilesDone: 1 });

    const whole = await call('GET', `/api/requests/${id}/files/ndvi.png`);
    assert.deepEqual([whole.status, whole.body['text'], whole.headers.get('accept-ranges')], [200, '0123456789abcdef', 'bytes']);
    const part = await call('GET', `/api/requests/${id}/files/ndvi.png`, { headers: { range: 'bytes=4-7' } });
    assert.deepEqual([part.status, part.body['text'], part.headers.get('content-range')], [206, '4567', 'bytes 4-7/16']);
    assert.deepEqual((await call('GET', `/api/requests/${id}`)).body['files'], ['ndvi.png'], 'the regular files only');

    for (const name of ['..%2Fsecret.txt', '..%2F..%2F..%2Fetc%2Fpasswd', 'sub%2Fx.txt', '.hidden', '%2Fetc%2Fpasswd', '..%5Csecret.txt']) {
      const answer = await call('GET', `/api/requests/${id}/files/${name}`);
      assert.equal(answer.status, 400, name);
      assert.match(answer.body['error'] as string, /only the files directly in the request's folder are served/);
    }
    for (const name of ['link.txt', 'sub', 'missing.png']) {
      const answer = await call('GET', `/api/requests/${id}/files/${name}`);
      assert.equal(answer.status, 404, name);
      assert.doesNotMatch(JSON.stringify(answer.body), /not yours/);
    }
    const raw = await fetch(`${web.url}/api/requests/${id}/files/../../../../etc/passwd`);
    assert.notEqual(raw.status, 200);
    assert.doesNotMatch(await raw.text(), /root:/);
  });

  test('the list is newest first and pages with before; bad parameters answer 400', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await post(GOOD)).body['id'] as string);
    const first = await call('GET', '/api/requests?limit=2');
    const page = first.body['requests'] as { id: string }[];
    assert.deepEqual(page.map((r) => r.id), [ids[2], ids[1]]);
    assert.equal(first.body['next_before'], ids[1]);
    const second = await call('GET', `/api/requests?limit=2&before=${ids[1]}`);
    assert.equal((second.body['requests'] as { id: string }[])[0]?.id, ids[0]);
    const cancelledOnly = await call('GET', '/api/requests?status=cancelled');
    assert.ok((cancelledOnly.body['requests'] as { status: string }[]).every((r) => r.status === 'cancelled'));
    for (const query of ['status=done', 'limit=0', 'limit=1000', 'limit=x', 'before=abc']) {
      const answer = await call('GET', `/api/requests?${query}`);
      assert.equal(answer.status, 400, query);
      assert.match(answer.body['error'] as string, /^(status must be one of|limit must be a whole number|before must be a request id)/);
    }
  });

  test('/metrics counts the requests in the table by status, and the pending ones', async () => {
    const rows = await web.store.list({ limit: 200 });
    const pending = rows.filter((r) => r.status === 'pending').length;
    const text = (await call('GET', '/metrics')).body['text'] as string;
    assert.match(text, new RegExp(`^tessera_requests_pending ${pending}$`, 'm'));
    assert.match(text, new RegExp(`^tessera_requests\\{status="cancelled"\\} ${rows.filter((r) => r.status === 'cancelled').length}$`, 'm'));
    assert.match(text, /^tessera_requests\{status="failed"\} 0$/m);
  });

  test('/api/events streams a request event when a row changes', async () => {
    const controller = new AbortController();
    const response = await fetch(`${web.url}/api/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const id = (await post(GOOD)).body['id'] as string;
    let text = '';
    while (!text.includes(`"id":"${id}"`)) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended');
      text += value;
    }
    const event = text.split('\n\n').find((block) => block.includes(`"id":"${id}"`)) ?? '';
    assert.match(event, /^event: request\ndata: /);
    const row = JSON.parse(event.slice(event.indexOf('data: ') + 6)) as Record<string, unknown>;
    assert.deepEqual([row['id'], row['status'], row['indices']], [id, 'pending', ['ndvi']]);
    controller.abort();
  });

  test('the pages and their assets come from the package, nothing from elsewhere', async () => {
    for (const page of ['/', '/new.html', '/request.html', '/workers.html']) {
      const answer = await call('GET', page);
      assert.equal(answer.status, 200, page);
      const html = answer.body['text'] as string;
      assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, `${page} loads nothing from another host`);
      for (const [, asset] of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) assert.equal((await call('GET', asset!)).status, 200, asset);
    }
    const config = await call('GET', '/api/config');
    assert.equal(config.body['token_required'], true);
    assert.equal(config.body['basemap_url'], 'https://tile.openstreetmap.org/{z}/{x}/{y}.png');
    // Every output a request can have gets a legend, a custom expression's too (its ends are the request's range).
    const legends = config.body['legends'] as Record<string, { value: number; colour: string }[]>;
    assert.deepEqual(Object.keys(legends).sort(), [...OUTPUT_NAMES].sort());
    assert.ok(Object.values(legends).every((stops) => stops.length > 2 && stops.every((stop) => /^#[0-9a-f]{6}$/.test(stop.colour))));
  });
});
