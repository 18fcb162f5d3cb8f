/**
 * DataLakeUploader with the real @azure/storage-file-datalake SDK against
 * test/support/fake-datalake-server.ts — A STAND-IN FOR AZURE, not Azure itself: Azurite has no Data
 * Lake (dfs) endpoint, so a small local HTTP server implements the REST calls the SDK makes (filesystem
 * create, path create, append, flush, get properties, read) and checks every request's SharedKey
 * signature or SAS sig. For each way of authenticating (connection string, account name + key, SAS
 * URL) real files — a PNG made with sharp, a multi-MB PNG uploaded in several appends, text sidecars, a
 * JSON manifest — are uploaded and the bytes stored must equal the local files; the URLs returned point
 * at <folder>/<id>/<name> without any secret. Storage being down (503, reset connections, no answer,
 * refused connections) is retried with backoff; down for good rejects after `attempts` tries, quickly,
 * with a readable message and no secret in it or in the logs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  DataLakeServiceClient,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
} from '@azure/storage-file-datalake';
import { pino } from 'pino';
import sharp from 'sharp';
import { TesseraError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { loadDataLakeSettings, type DataLakeSettings } from '../../master/output/datalake-config.js';
import { DataLakeUploadError, DataLakeUploader } from '../../master/output/datalake-uploader.js';
import { startFakeDataLake, type FakeDataLakeServer } from '../support/fake-datalake-server.js';
import { prng } from '../support/prng.js';

const ACCOUNT = 'devstoreaccount1';
const KEY = randomBytes(64).toString('base64');
const FAST = { initialMs: 10, maxMs: 80 } as const;
/** Generous bound for "fails quickly" (attempts × one request + short backoff is ~0.2 s here). */
const QUICK_MS = 5_000;

/** A real account SAS (signed with KEY); the fake server accepts requests carrying its sig. */
const SAS = generateAccountSASQueryParameters(
  {
    expiresOn: new Date(Date.now() + 3_600_000),
    permissions: AccountSASPermissions.parse('rwac'),
    resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
    services: AccountSASServices.parse('b').toString(),
  },
  new StorageSharedKeyCredential(ACCOUNT, KEY),
);
const SAS_QUERY = SAS.toString();
const SAS_SIG = SAS.signature;

interface Fixture {
  readonly dir: string;
  readonly files: string[];
}

/** A log that keeps its lines, to check no secret is logged. */
function capturingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }), lines };
}

async function makeFiles(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-datalake-'));
  const random = prng(42);
  const grey = Buffer.alloc(256 * 256);
  for (let i = 0; i < grey.length; i += 1) grey[i] = (i % 256) ^ Math.floor(random() * 16);
  const noise = Buffer.alloc(1400 * 1400 * 3);
  for (let i = 0; i < noise.length; i += 1) noise[i] = Math.floor(random() * 256);
  const files = {
    'ndvi.png': await sharp(grey, { raw: { width: 256, height: 256, channels: 1 } }).png().toBuffer(),
    // Noise does not compress: a ~5.9 MB PNG, uploaded in two 4 MiB appends.
    'ndvi_color.png': await sharp(noise, { raw: { width: 1400, height: 1400, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer(),
    'ndvi.pgw': Buffer.from('10\n0\n0\n-10\n600005\n5199995\n'),
    'ndvi.png.aux.xml': Buffer.from('<PAMDataset><SRS>EPSG:32633</SRS></PAMDataset>\n'),
    'manifest.json': Buffer.from(`${JSON.stringify({ requestId: 'x', indices: ['ndvi'], ünïcode: 'ok' }, null, 2)}\n`),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
  assert.ok(files['ndvi_color.png'].length > 5 * 1024 * 1024, 'the large PNG is several MB');
  return { dir, files: Object.keys(files).map((name) => join(dir, name)) };
}

function settingsFor(env: Record<string, string>): DataLakeSettings {
  const settings = loadDataLakeSettings(env);
  assert.ok(settings, 'uploads are on');
  return settings;
}

/** The stored bytes of every file equal the local file; the URLs are <service>/<fs>/<folder>/<id>/<name>, without query. */
async function assertUploaded(
  server: FakeDataLakeServer,
  fixture: Fixture,
  urls: Record<string, string>,
  where: { fileSystem: string; folder: string; id: string },
): Promise<void> {
  assert.deepEqual(Object.keys(urls).sort(), fixture.files.map((f) => basename(f)).sort());
  for (const file of fixture.files) {
    const name = basename(file);
    const path = `${where.folder}/${where.id}/${name}`;
    const stored = server.file(where.fileSystem, path);
    assert.ok(stored, `${path} is stored`);
    assert.ok(stored.equals(await readFile(file)), `${path}: stored bytes equal the local file (${stored.length} bytes)`);
    assert.equal(urls[name], `${server.serviceUrl}/${where.fileSystem}/${path}`);
    assert.ok(!urls[name]?.includes('?') && !urls[name]?.includes('sig'), 'no query, no secret in the URL');
  }
}

function assertNoSecret(text: string): void {
  assert.ok(!text.includes(KEY), 'no account key');
  assert.ok(!text.includes(SAS_SIG) && !text.includes(encodeURIComponent(SAS_SIG)), 'no SAS signature');
  assert.ok(!/sig=(?!\*\*\*)[^&\s"]+/.test(text), `no sig= value in: ${text}`);
  assert.ok(!/SharedKey \S+:(?!\*\*\*)\S+/.test(text), 'no SharedKey signature');
}

describe('DataLakeUploader against a local stand-in for Azure Data Lake', () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await makeFiles();
  });
  after(async () => {
    await rm(fixture.dir, { recursive: true, force: true });
  });

  it('uploads with a connection string (SharedKey on every request, chunked appends, filesystem created once)', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    const settings = settingsFor({ AZURE_STORAGE_CONNECTION_STRING: server.connectionString });
    const { log, lines } = capturingLog();
    const uploader = new DataLakeUploader({ settings, log, backoff: FAST });

    const started = performance.now();
    const urls = await uploader.upload('101', fixture.files);
    t.diagnostic(`connection string: ${fixture.files.length} files in ${Math.round(performance.now() - started)} ms, ${server.calls.length} requests`);
    await assertUploaded(server, fixture, urls, { fileSystem: 'tessera', folder: 'mosaics', id: '101' });

    assert.ok(server.calls.length > 0);
    for (const call of server.calls) {
      assert.equal(call.auth, 'shared-key', `${call.method} ${call.path}`);
      assert.match(call.authorization ?? '', new RegExp(`^SharedKey ${ACCOUNT}:[A-Za-z0-9+/=]{44}$`));
      assert.ok(call.authValid, `${call.method} ${call.path}: the SharedKey signature verifies with the account key`);
    }
    const ops = server.calls.map((c) => c.operation);
    assert.equal(ops[0], 'filesystem-create');
    assert.equal(ops.filter((o) => o === 'path-create').length, fixture.files.length);
    assert.equal(ops.filter((o) => o === 'flush').length, fixture.files.length - 1, 'every file is flushed, except the empty one (the SDK only creates it)');
    const bigAppends = server.calls.filter((c) => c.operation === 'append' && c.path.endsWith('/ndvi_color.png'));
    assert.equal(bigAppends.length, 2, 'the large file goes in 4 MiB appends');
    assert.deepEqual(bigAppends.map((c) => Number(c.query.position)).sort((a, b) => a - b), [0, 4 * 1024 * 1024]);
    assert.ok(bigAppends.every((c) => c.bodyBytes <= 4 * 1024 * 1024));
    assert.ok(!server.calls.some((c) => c.operation === 'append' && c.path.endsWith('/empty.txt')), 'an empty file is created, never appended');

    // A second request reuses the filesystem; a new uploader (another master) tolerates "already exists".
    await uploader.upload('102', fixture.files.slice(0, 1));
    assert.equal(server.calls.filter((c) => c.operation === 'filesystem-create').length, 1);
    const other = new DataLakeUploader({ settings, log, backoff: FAST });
    await other.upload('103', fixture.files.slice(0, 1));
    const creates = server.calls.filter((c) => c.operation === 'filesystem-create');
    assert.deepEqual(creates.map((c) => c.status), [201, 409]);
    assert.ok(server.file('tessera', 'mosaics/103/ndvi.png'));
    assertNoSecret(lines.join('\n'));
  });

  it('uploads with account name + key (AZURE_STORAGE_ACCOUNT_URL), into a custom filesystem and folder, readable back', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    const settings = settingsFor({
      AZURE_STORAGE_ACCOUNT_NAME: ACCOUNT,
      AZURE_STORAGE_ACCOUNT_KEY: KEY,
      AZURE_STORAGE_ACCOUNT_URL: server.serviceUrl,
      AZURE_DATALAKE_FILESYSTEM: 'alps-2024',
      AZURE_DATALAKE_FOLDER: 'projects/snow',
    });
    const uploader = new DataLakeUploader({ settings, log: capturingLog().log, backoff: FAST });
    const urls = await uploader.upload('7', fixture.files);
    await assertUploaded(server, fixture, urls, { fileSystem: 'alps-2024', folder: 'projects/snow', id: '7' });
    assert.deepEqual(server.fileSystems(), ['alps-2024']);

    // Read back through the SDK (HEAD + GET on the stand-in): same bytes, content types set.
    const reader = new DataLakeServiceClient(server.serviceUrl, new StorageSharedKeyCredential(ACCOUNT, KEY), { retryOptions: { maxTries: 1 } });
    const fileSystem = reader.getFileSystemClient('alps-2024');
    const png = fileSystem.getFileClient('projects/snow/7/ndvi_color.png');
    const properties = await png.getProperties();
    assert.equal(properties.contentType, 'image/png');
    assert.equal(properties.contentLength, (await readFile(join(fixture.dir, 'ndvi_color.png'))).length);
    assert.ok((await png.readToBuffer()).equals(await readFile(join(fixture.dir, 'ndvi_color.png'))), 'read back equals the local file');
    const manifest = await fileSystem.getFileClient('projects/snow/7/manifest.json').readToBuffer();
    assert.deepEqual(JSON.parse(manifest.toString('utf8')), JSON.parse(await readFile(join(fixture.dir, 'manifest.json'), 'utf8')));
    assert.equal((await fileSystem.getFileClient('projects/snow/7/manifest.json').getProperties()).contentType, 'application/json');
    const ops = new Set(server.calls.map((c) => c.operation));
    assert.ok(ops.has('get-properties') && ops.has('read'), [...ops].join(', '));
    assert.ok(server.calls.every((c) => c.auth === 'shared-key' && c.authValid));
  });

  it('uploads with a SAS URL: sig on every request, no Authorization header, no secret in the URLs returned', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY, sasSignature: SAS_SIG });
    t.after(() => server.close());
    const settings = settingsFor({ AZURE_STORAGE_SAS_URL: `${server.serviceUrl}?${SAS_QUERY}` });
    const uploader = new DataLakeUploader({ settings, log: capturingLog().log, backoff: FAST });
    const urls = await uploader.upload('55', fixture.files);
    await assertUploaded(server, fixture, urls, { fileSystem: 'tessera', folder: 'mosaics', id: '55' });
    for (const call of server.calls) {
      assert.equal(call.auth, 'sas', `${call.method} ${call.path}`);
      assert.equal(call.authorization, undefined);
      assert.equal(call.query.sig, SAS_SIG);
      assert.ok(call.authValid);
    }
    assertNoSecret(JSON.stringify(urls));
  });

  it('a wrong key is refused by the stand-in (it really checks signatures) and reported without secrets', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    const wrongKey = randomBytes(64).toString('base64');
    const settings = settingsFor({
      AZURE_STORAGE_ACCOUNT_NAME: ACCOUNT,
      AZURE_STORAGE_ACCOUNT_KEY: wrongKey,
      AZURE_STORAGE_ACCOUNT_URL: server.serviceUrl,
      AZURE_UPLOAD_ATTEMPTS: '2',
    });
    const error = await new DataLakeUploader({ settings, log: capturingLog().log, backoff: FAST }).upload('9', fixture.files).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof DataLakeUploadError);
    assert.match(error.message, /HTTP 403 AuthenticationFailed/);
    assert.ok(!error.message.includes(wrongKey));
    assert.ok(server.calls.every((c) => c.auth === 'shared-key' && !c.authValid && c.status === 403));
  });

  it('recovers when storage answers 503 for a while, and when connections reset mid-file', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    const settings = settingsFor({ AZURE_STORAGE_CONNECTION_STRING: server.connectionString });
    const { log, lines } = capturingLog();
    const uploader = new DataLakeUploader({ settings, log, backoff: FAST });

    server.failNext(3); // 503 ServerBusy for the next 3 requests
    let started = performance.now();
    const urls = await uploader.upload('201', fixture.files);
    t.diagnostic(`3 × 503 then OK: ${Math.round(performance.now() - started)} ms`);
    await assertUploaded(server, fixture, urls, { fileSystem: 'tessera', folder: 'mosaics', id: '201' });
    assert.equal(server.calls.filter((c) => c.status === 503).length, 3, 'one request per failed attempt: the SDK itself does not retry');
    assert.equal(lines.filter((l) => l.includes('retrying')).length, 3);

    // The second append of the large file fails twice with a reset connection: the file is re-created and re-sent.
    server.failNext(2, { outage: 'reset', match: (call) => call.operation === 'append' && call.query.position !== '0' });
    started = performance.now();
    const again = await uploader.upload('202', fixture.files);
    t.diagnostic(`2 × connection reset mid-file then OK: ${Math.round(performance.now() - started)} ms`);
    await assertUploaded(server, fixture, again, { fileSystem: 'tessera', folder: 'mosaics', id: '202' });
    assert.equal(server.calls.filter((c) => c.status === 'reset').length, 2);
    const problems = lines.filter((l) => l.includes('"attempt"') && l.includes('202'));
    assert.ok(problems.some((l) => /ECONNRESET|socket hang up/i.test(l)), problems.join('\n'));
    assertNoSecret(lines.join('\n'));
  });

  for (const kind of ['connection-string', 'sas'] as const) {
    it(`down for good (${kind}): rejects after AZURE_UPLOAD_ATTEMPTS tries, quickly, with a readable message without secrets`, async (t) => {
      const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY, sasSignature: SAS_SIG });
      t.after(() => server.close());
      server.setDown(503);
      const env: Record<string, string> =
        kind === 'sas'
          ? { AZURE_STORAGE_SAS_URL: `${server.serviceUrl}?${SAS_QUERY}` }
          : { AZURE_STORAGE_CONNECTION_STRING: server.connectionString };
      const settings = settingsFor({ ...env, AZURE_UPLOAD_ATTEMPTS: '3' });
      const { log, lines } = capturingLog();
      const started = performance.now();
      const error = await new DataLakeUploader({ settings, log, backoff: FAST }).upload('42', fixture.files).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      const ms = performance.now() - started;
      t.diagnostic(`down for good (${kind}): rejected after ${Math.round(ms)} ms: ${error instanceof Error ? error.message : String(error)}`);
      assert.ok(error instanceof DataLakeUploadError, String(error));
      assert.equal(error.attempts, 3);
      assert.deepEqual([...error.notUploaded].sort(), fixture.files.map((f) => basename(f)).sort());
      assert.match(error.message, /^upload of request 42 to Azure Data Lake \(filesystem "tessera", folder "mosaics\/42"\) failed after 3 attempts; 6 of 6 files not uploaded/);
      assert.match(error.message, /last error: creating filesystem "tessera": HTTP 503 ServerBusy/);
      assertNoSecret(error.message);
      assertNoSecret(lines.join('\n'));
      assert.equal(server.calls.length, 3, 'exactly one request per attempt');
      assert.ok(ms < QUICK_MS, `${ms} ms`);
    });
  }

  it('gives up on a silent endpoint (no answer) after the attempt deadline, and on refused connections', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    server.setDown('hang');
    const settings = settingsFor({ AZURE_STORAGE_CONNECTION_STRING: server.connectionString, AZURE_UPLOAD_ATTEMPTS: '2' });
    let started = performance.now();
    const silent = await new DataLakeUploader({ settings, log: capturingLog().log, backoff: FAST, attemptTimeoutMs: 300 })
      .upload('43', fixture.files)
      .then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    let ms = performance.now() - started;
    t.diagnostic(`silent endpoint: rejected after ${Math.round(ms)} ms`);
    assert.ok(silent instanceof DataLakeUploadError);
    assert.match(silent.message, /failed after 2 attempts.*no answer from Azure Data Lake within 300 ms/);
    assert.ok(ms >= 600 && ms < QUICK_MS, `${ms} ms`);

    // Nothing listens on the port any more: ECONNREFUSED.
    const closed = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    await closed.close();
    const refusedSettings = settingsFor({ AZURE_STORAGE_CONNECTION_STRING: closed.connectionString, AZURE_UPLOAD_ATTEMPTS: '2' });
    started = performance.now();
    const refused = await new DataLakeUploader({ settings: refusedSettings, log: capturingLog().log, backoff: FAST })
      .upload('44', fixture.files)
      .then(() => assert.fail('expected a rejection'), (e: unknown) => e);
    ms = performance.now() - started;
    t.diagnostic(`refused connections: rejected after ${Math.round(ms)} ms: ${refused instanceof Error ? refused.message : ''}`);
    assert.ok(refused instanceof DataLakeUploadError);
    assert.match(refused.message, /ECONNREFUSED/);
    assert.ok(ms < QUICK_MS);
  });

  it('stops retrying when aborted (the master is stopping)', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    server.setDown(503);
    const settings = settingsFor({ AZURE_STORAGE_CONNECTION_STRING: server.connectionString, AZURE_UPLOAD_ATTEMPTS: '100' });
    const uploader = new DataLakeUploader({ settings, log: capturingLog().log, backoff: { initialMs: 200, maxMs: 200 } });
    const controller = new AbortController();
    const started = performance.now();
    const pending = uploader.upload('45', fixture.files, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('master stopping')), 300);
    await assert.rejects(pending, /master stopping/);
    assert.ok(performance.now() - started < 2_000);
    assert.ok(server.calls.length < 5);
  });

  it('refuses at once, without retrying, a missing local file or two files with the same name', async (t) => {
    const server = await startFakeDataLake({ accountName: ACCOUNT, accountKey: KEY });
    t.after(() => server.close());
    const uploader = new DataLakeUploader({ settings: settingsFor({ AZURE_STORAGE_CONNECTION_STRING: server.connectionString }), log: capturingLog().log, backoff: FAST });
    const missing = join(fixture.dir, 'ndsi.png');
    await assert.rejects(uploader.upload('46', [...fixture.files, missing]), (error: unknown) => {
      assert.ok(error instanceof TesseraError && !(error instanceof DataLakeUploadError));
      assert.match(error.message, /cannot read .*ndsi\.png: .*ENOENT/);
      return true;
    });
    await assert.rejects(uploader.upload('46', [fixture.files[0] ?? '', join(tmpdir(), 'ndvi.png')]), /two files are named ndvi\.png/);
    await assert.rejects(uploader.upload('../x', fixture.files), /cannot be a folder name/);
    assert.equal(server.calls.length, 0);
  });
});
