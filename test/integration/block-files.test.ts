/**
 * A worker's remote reads of stored blocks (DirectRead with a URL): range requests answered by a
 * real local http server, each answer checked against the size (and ETag) the master saw; a
 * server error is tried again, a file that is not the one planned with fails at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DirectReadError, openBlockFile } from '../../worker/block-files.js';
import { startFaultyHttpServer, type FaultyHttpServer } from '../support/faulty-http-server.js';
import { startRangeServer, type RangeServer } from '../support/range-server.js';

const FILE = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) % 251));

describe('remote block files', () => {
  let server: RangeServer;
  let faulty: FaultyHttpServer;
  before(async () => {
    server = await startRangeServer(new Map([['scene.tif', FILE]]));
    faulty = await startFaultyHttpServer(new Map([['scene.tif', FILE]]), { 'gone.tif': { kind: 'status', status: 404 }, 'busy.tif': { kind: 'status', status: 503 } });
  });
  after(async () => {
    await server.close();
    await faulty.close();
  });

  it('reads a block with one range request, byte for byte', async () => {
    const file = await openBlockFile({ url: server.url('scene.tif'), size: FILE.length, etag: '', mtimeMs: 0, location: 'url' });
    assert.ok(file);
    const into = Buffer.alloc(1234);
    await file.read(into, 4321);
    assert.ok(into.equals(FILE.subarray(4321, 4321 + 1234)));
    assert.equal(server.stats.rangeGets('/scene.tif'), 1);
  });

  it('a file of another size than the master saw is not read (DirectReadError, no retries), nor is a 404', async () => {
    const before = server.stats.rangeGets('/scene.tif');
    const changed = await openBlockFile({ url: server.url('scene.tif'), size: FILE.length + 1, etag: '', mtimeMs: 0, location: 'url' });
    await assert.rejects(changed!.read(Buffer.alloc(10), 0), (error: unknown) => error instanceof DirectReadError && /not the one the master read/.test(error.message));
    assert.equal(server.stats.rangeGets('/scene.tif') - before, 1, 'asked once');
    const gone = await openBlockFile({ url: faulty.url('gone.tif', 'sig=secret'), size: FILE.length, etag: '', mtimeMs: 0, location: 'url' });
    await assert.rejects(gone!.read(Buffer.alloc(10), 0), (error: unknown) => error instanceof DirectReadError && /HTTP 404/.test(error.message) && !error.message.includes('secret'));
  });

  it('a server error is tried three times, then reported', async () => {
    const busy = await openBlockFile({ url: faulty.url('busy.tif'), size: FILE.length, etag: '', mtimeMs: 0, location: 'url' });
    await assert.rejects(busy!.read(Buffer.alloc(10), 0), (error: unknown) => error instanceof DirectReadError && /HTTP 503/.test(error.message));
    assert.equal(faulty.requests.filter((r) => r.path === 'busy.tif').length, 3);
  });

  it('a URL that is not http(s), or no location at all, is never read directly', async () => {
    assert.equal(await openBlockFile({ url: 'ftp://example.invalid/scene.tif', size: 1, etag: '', mtimeMs: 0, location: 'url' }), null);
    assert.equal(await openBlockFile({ size: 1, etag: '', mtimeMs: 0 }), null);
  });
});
