/**
 * Reading STAC items over real HTTP on 127.0.0.1 and from local files: an item loads; 404, a web
 * page, a body over the limit, bad JSON and a missing file fail at once with the reason; 5xx is
 * retried and then given up; a server that stalls fails within the read timeout. No message
 * carries the URL's query.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidRequestError, SourceReadError } from '../../shared/errors.js';
import { retryPolicy } from '../../shared/retry.js';
import { loadStacItem } from '../../master/source/stac-loader.js';
import { startFaultyHttpServer, type FaultyHttpServer } from '../support/faulty-http-server.js';

const ITEM = { type: 'Feature', id: 'S2A_T32TLS', properties: { 's2:processing_baseline': '04.00' }, assets: { red: { href: 'B04.tif' } } };
const FAST_RETRY = retryPolicy({ initialMs: 5, maxMs: 5, factor: 1, jitter: 0, attempts: 3 });
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

let server: FaultyHttpServer;
let folder: string;

before(async () => {
  server = await startFaultyHttpServer(
    new Map([
      ['item.json', encode(JSON.stringify(ITEM))],
      ['big.json', encode(JSON.stringify({ ...ITEM, padding: 'x'.repeat(4096) }))],
      ['broken.json', encode('{"type": "Feature", ')],
      ['stall.json', encode(JSON.stringify(ITEM))],
    ]),
    {
      'gone.json': { kind: 'status', status: 404 },
      'busy.json': { kind: 'status', status: 503 },
      'page.json': { kind: 'html', status: 200 },
      'stall.json': { kind: 'stall' },
    },
  );
  folder = await mkdtemp(join(tmpdir(), 'tessera-stac-'));
});

after(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

const load = (url: string, extra: { maxBytes?: number; readTimeoutMs?: number } = {}) =>
  loadStacItem(url, { readTimeoutMs: extra.readTimeoutMs ?? 5_000, retry: FAST_RETRY, ...(extra.maxBytes ? { maxBytes: extra.maxBytes } : {}) });

test('an item over http loads, its relative hrefs resolved against its URL (query kept for the bands)', async () => {
  const url = server.url('item.json', 'sig=SECRET');
  const item = await load(url);
  assert.equal(item.summary.id, 'S2A_T32TLS');
  assert.equal(item.assets.get('red')?.href, new URL('B04.tif', url).toString());
});

test('an item from a local file loads; a missing one fails naming the path', async () => {
  const path = join(folder, 'item.json');
  await writeFile(path, JSON.stringify(ITEM));
  assert.equal((await load(path)).assets.get('red')?.href, join(folder, 'B04.tif'));
  await assert.rejects(load(join(folder, 'nope.json')), (error: unknown) => error instanceof SourceReadError && /nope\.json.*ENOENT|no such file/.test(error.message));
});

test('404, a web page, too large, bad JSON: refused at once, in words, without the query', async () => {
  const cases: [string, RegExp, typeof SourceReadError | typeof InvalidRequestError][] = [
    ['gone.json', /HTTP 404.*check the URL/, SourceReadError],
    ['page.json', /is a web page \(Content-Type text\/html\)/, SourceReadError],
    ['big.json', /larger than the 1000 bytes a STAC item may be/, SourceReadError],
    ['broken.json', /is not JSON/, InvalidRequestError],
  ];
  for (const [name, message, kind] of cases) {
    const before = server.requests.length;
    await assert.rejects(load(server.url(name, 'sig=SECRET'), { maxBytes: 1000 }), (error: unknown) => {
      assert.ok(error instanceof kind, `${name}: ${String(error)}`);
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /SECRET/);
      return true;
    });
    assert.equal(server.requests.length - before, 1, `${name} is asked once`);
  }
});

test('503 is asked again with backoff, then given up with the last reason', async () => {
  const before = server.requests.length;
  await assert.rejects(load(server.url('busy.json')), (error: unknown) => error instanceof SourceReadError && /HTTP 503/.test(error.message));
  assert.equal(server.requests.length - before, 3, 'the policy allows 3 tries');
});

test('a server that stalls fails each try within the read timeout', async () => {
  const started = Date.now();
  await assert.rejects(load(server.url('stall.json'), { readTimeoutMs: 200 }), (error: unknown) => error instanceof SourceReadError && /sent nothing for 200 ms \(READ_TIMEOUT_MS\)/.test(error.message));
  assert.ok(Date.now() - started < 3 * 200 + 2_000, `gave up after ${Date.now() - started} ms`);
});
