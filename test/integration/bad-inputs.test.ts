/**
 * A battery of bad inputs against one running master (real PostgreSQL, real gRPC and workers):
 * each kind is inserted as a row with SQL, as a user would type it, and must end `failed` with a
 * readable message — or `completed` for the odd inputs that are valid (strip_rows 1, a 1×1
 * image, an all-no-data image) — and a good request inserted right after it must complete. No
 * message may show a URL's query (the signature). The README's table of inputs and messages is
 * this list; BAD_INPUT_MESSAGES=<file> writes what each row got there.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster.js';
import { startFaultyHttpServer, type FaultyHttpServer } from '../support/faulty-http-server.js';
import { writeOddInputs, type OddInputs } from '../support/odd-inputs.js';
import { freePort } from '../support/ports.js';
import { waitFinished } from '../support/wait-finished.js';

/** Column values of a row, as SQL parameters (bands as JSON text, indices as an array). */
interface Row {
  readonly source?: string;
  readonly bands?: unknown;
  readonly indices?: readonly (string | null)[];
  readonly formats?: readonly (string | null)[];
  readonly reflectance_offset?: number;
  readonly strip_rows?: number | null;
  readonly url?: string | null;
  readonly ul_lat?: number | null;
  readonly ul_lng?: number | null;
  readonly lr_lat?: number | null;
  readonly lr_lng?: number | null;
  readonly resolution?: number | null;
}

const CASTS: Readonly<Record<keyof Row, string>> = {
  source: 'text',
  bands: 'jsonb',
  indices: 'text[]',
  formats: 'text[]',
  reflectance_offset: 'double precision',
  strip_rows: 'integer',
  url: 'text',
  ul_lat: 'double precision',
  ul_lng: 'double precision',
  lr_lat: 'double precision',
  lr_lng: 'double precision',
  resolution: 'double precision',
};

interface Case {
  /** The README's "input" column. */
  readonly input: string;
  readonly row: Row;
  /** The message the failed row must carry; 'completed' for valid odd inputs. */
  readonly expect: RegExp | 'completed';
}

const SIGNATURE = 'sig=SECRET-signature&se=2030-01-01';
const BOX = { ul_lat: 46.52, ul_lng: 6.55, lr_lat: 46.48, lr_lng: 6.62 };

function cases(files: OddInputs, server: FaultyHttpServer, closedPort: number): Case[] {
  const ndvi = (red: string, nir: string = files.nir): Row => ({ bands: { red, nir }, indices: ['ndvi'] });
  const url = (name: string): string => server.url(name, SIGNATURE);
  const earthdaily = (row: Row): Row => ({ source: 'earthdaily', url: server.url('mosaic.tif', SIGNATURE), indices: ['ndvi'], ...BOX, resolution: 10, ...row });
  return [
    { input: 'missing file', row: ndvi(files.missing), expect: /^red: cannot open ".*\/no-such-file\.tif" as a GeoTIFF: no such file \(the path is read on the master's machine; in Docker, input files live under \/data\/input\)$/ },
    { input: 'a directory', row: ndvi(files.folder), expect: /^red: cannot open ".*\/folder\.tif" as a GeoTIFF: it is a folder, not a file: name the GeoTIFF inside it$/ },
    { input: 'an empty file', row: ndvi(files.empty), expect: /^red: cannot open ".*\/empty\.tif" as a GeoTIFF: the file is empty \(0 bytes\)$/ },
    { input: 'text named .tif', row: ndvi(files.text), expect: /^red: cannot open ".*\/notes\.tif" as a GeoTIFF: not a TIFF file: it is text \(it starts with "hello, this is n"\)$/ },
    { input: 'a truncated GeoTIFF', row: ndvi(files.truncated), expect: /^red: cannot open ".*\/truncated\.tif" as a GeoTIFF: the file is truncated: it is \d+ bytes long, but its tile \d+ of 16 ends at byte \d+ \(\d+ bytes missing\); the copy or download was probably cut short: copy the file again$/ },
    { input: 'a JPEG named .tif', row: ndvi(files.jpeg), expect: /^red: cannot open ".*\/photo\.tif" as a GeoTIFF: not a TIFF file: it is a JPEG image; tessera reads GeoTIFFs \(convert it with gdal_translate -of GTiff\)$/ },
    { input: 'a GeoTIFF without a CRS', row: ndvi(files.red, files.noCrs), expect: /^nir \(band 1 of ".*\/no-crs\.tif"\): the file has no GeoKeys, so its CRS is unknown; tessera needs an EPSG code$/ },
    { input: 'bands in different CRSs', row: ndvi(files.red, files.otherCrs), expect: /^the bands are in different CRSs: red EPSG:32633 \(.*\/red\.tif\), nir EPSG:32634 \(.*\/other-crs\.tif\); reproject them to one CRS first$/ },
    { input: 'bands that do not overlap', row: ndvi(files.red, files.elsewhere), expect: /^the bands do not overlap: red \[500000, 4999360, 500640, 5000000\] \(.*\/red\.tif\), nir \[600000, 4999360, 600640, 5000000\] \(.*\/elsewhere\.tif\) \(extents as \[minX, minY, maxX, maxY\]\)$/ },
    { input: 'a multi-band file without #N for two bands', row: ndvi(files.fourBands, files.fourBands), expect: /^red and nir both read band 1 of ".*four-bands\.tif" \(a reference without #N reads band 1\), which has 4 bands: pick the band each of them is with #N \(1 to 4\)/ },
    { input: 'band number 0 (`#0`)', row: ndvi(`${files.red}#0`), expect: /^band reference ".*red\.tif#0": "#0" is not a band number \(expected # followed by a positive integer, e\.g\. ".*red\.tif#1"\)$/ },
    { input: 'band number out of range (`#9` of 4)', row: ndvi(`${files.fourBands}#9`), expect: /^red \(band 9 of ".*four-bands\.tif"\): the file has 4 bands, so there is no band 9$/ },
    { input: 'unknown index', row: { bands: { red: files.red, nir: files.nir }, indices: ['gndvi'] }, expect: /^unknown index "gndvi"; tessera computes ndvi, ndsi, ndwi, ndmi, nbr, savi, evi$/ },
    { input: 'empty indices (`{}`)', row: { bands: { red: files.red, nir: files.nir }, indices: [] }, expect: /^no index requested; set indices to one or more of ndvi, ndsi, ndwi, ndmi, nbr, savi, evi$/ },
    { input: 'NULL in indices (`{NULL}`)', row: { bands: { red: files.red, nir: files.nir }, indices: [null] }, expect: /^no index requested; set indices to one or more of ndvi, ndsi, ndwi, ndmi, nbr, savi, evi$/ },
    { input: 'missing band for an index', row: { bands: { red: files.red, nir: files.nir }, indices: ['ndsi'] }, expect: /^ndsi needs band "green", which the request does not give; add it to bands$/ },
    { input: 'unknown band name', row: { bands: { rouge: files.red, nir: files.nir }, indices: ['ndvi'] }, expect: /^unknown band "rouge"; use the STAC common names red, nir, green, swir16, swir22, blue$/ },
    { input: 'bands a JSON array (`[]`)', row: { bands: [], indices: ['ndvi'] }, expect: /^bands must be a JSON object from band name to file, e\.g\. / },
    { input: 'bands JSON `null`', row: { bands: null, indices: ['ndvi'] }, expect: /^bands must be a JSON object from band name to file/ },
    { input: 'a band given as a number', row: { bands: { red: 4, nir: files.nir }, indices: ['ndvi'] }, expect: /^band "red" must be a file path or URL string$/ },
    { input: 'unknown output format (`{png,jpeg}`)', row: { ...ndvi(files.red), formats: ['png', 'jpeg'] }, expect: /^unknown output format "jpeg"; tessera writes png, cog \(e\.g\. formats = '\{png,cog\}'\)$/ },
    { input: 'strip_rows 0', row: { ...ndvi(files.red), strip_rows: 0 }, expect: /^strip_rows must be a whole number of rows from 1 to 65536, got 0$/ },
    { input: 'strip_rows 1 (valid)', row: { ...ndvi(files.red), strip_rows: 1 }, expect: 'completed' },
    { input: 'strip_rows 100000', row: { ...ndvi(files.red), strip_rows: 100_000 }, expect: /^strip_rows must be a whole number of rows from 1 to 65536, got 100000$/ },
    { input: 'reflectance_offset NaN', row: { ...ndvi(files.red), reflectance_offset: Number.NaN }, expect: /^reflectance_offset must be a finite number \(e\.g\. 0 or -1000\), got NaN$/ },
    { input: 'reflectance_offset Infinity', row: { ...ndvi(files.red), reflectance_offset: Number.POSITIVE_INFINITY }, expect: /^reflectance_offset must be a finite number \(e\.g\. 0 or -1000\), got Infinity$/ },
    { input: 'reflectance_offset 1e300', row: { ...ndvi(files.red), reflectance_offset: 1e300 }, expect: /^reflectance_offset = 1e\+300 is not a plausible offset: .* from -10000 to 10000 \(Sentinel-2 L2A since baseline 04\.00: -1000; otherwise 0\)$/ },
    { input: 'an s3:// URL', row: ndvi('s3://bucket/B04.tif'), expect: /^red: cannot open "s3:\/\/bucket\/B04\.tif": only local paths and http\(s\) URLs are supported$/ },
    { input: 'URL to a closed port', row: ndvi(`http://127.0.0.1:${closedPort}/B04.tif?${SIGNATURE}`), expect: new RegExp(`^red: cannot open "http://127\\.0\\.0\\.1:${closedPort}/B04\\.tif" as a GeoTIFF: network error: fetch failed \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}\\) \\(gave up after 4 attempts\\)$`) },
    { input: 'URL answering 404', row: ndvi(url('gone.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/gone\.tif" as a GeoTIFF: not found \(HTTP 404 Not Found\): check the URL$/ },
    { input: 'URL answering 403 (expired signature)', row: ndvi(url('denied.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/denied\.tif" as a GeoTIFF: the server refused the URL \(HTTP 403 Forbidden\): access denied — a signed URL's signature may have expired or be wrong/ },
    { input: 'URL answering 500', row: ndvi(url('broken.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/broken\.tif" as a GeoTIFF: the server answered HTTP 500 Internal Server Error \(gave up after 4 attempts\)$/ },
    { input: 'URL of an HTML page (200, text/html)', row: ndvi(url('login.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/login\.tif" as a GeoTIFF: the server answered with a web page \(Content-Type text\/html\), not a GeoTIFF: the URL may lead to a sign-in or error page; check it$/ },
    { input: 'URL of an HTML file served in ranges (206)', row: ndvi(url('page.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/page\.tif" as a GeoTIFF: not a TIFF file: it is an HTML or XML page, not a GeoTIFF$/ },
    { input: 'URL with a lying Content-Length', row: ndvi(url('short.tif')), expect: /^red: cannot open "http:\/\/127\.0\.0\.1:\d+\/short\.tif" as a GeoTIFF: network error: terminated \(other side closed\) \(gave up after 4 attempts\)$/ },
    { input: 'EarthDaily corners inverted', row: earthdaily({ ul_lat: 46.48, lr_lat: 46.52 }), expect: /^the corners are in the wrong order: the upper-left corner \(46\.48, 6\.55\) must be north-west of the lower-right one \(46\.52, 6\.62\), i\.e\. ul_lat > lr_lat and ul_lng < lr_lng$/ },
    { input: 'EarthDaily latitude > 90', row: earthdaily({ ul_lat: 91 }), expect: /^ul_lat = 91 is not a valid latitude \(±90°\)$/ },
    { input: 'EarthDaily 10° box', row: earthdaily({ ul_lat: 50, ul_lng: 5, lr_lat: 40, lr_lng: 15 }), expect: /^the box is 10° wide and 10° tall; at most 0\.42° a side is allowed \(MAX_BBOX_DEG\): request a smaller box, or several$/ },
    { input: 'EarthDaily resolution 0', row: earthdaily({ resolution: 0 }), expect: /^resolution must be a positive number of metres per pixel \(got 0\), e\.g\. 10$/ },
    { input: 'EarthDaily resolution -10', row: earthdaily({ resolution: -10 }), expect: /^resolution must be a positive number of metres per pixel \(got -10\), e\.g\. 10$/ },
    { input: 'EarthDaily NULL corner', row: earthdaily({ lr_lng: null }), expect: /^lr_lng is missing; an earthdaily request needs ul_lat, ul_lng, lr_lat and lr_lng in WGS84 degrees$/ },
    { input: 'EarthDaily NULL resolution', row: earthdaily({ resolution: null }), expect: /^resolution must be a positive number of metres per pixel \(got null\), e\.g\. 10$/ },
    { input: 'EarthDaily without a URL (none configured)', row: earthdaily({ url: null }), expect: /^no mosaic URL: set the url column of the request, or EARTHDAILY_MOSAIC_URL on the master$/ },
    { input: 'unknown source', row: { ...ndvi(files.red), source: 'landsat' }, expect: /^unknown source "landsat"; this master processes: sentinel2, earthdaily, stac$/ },
    { input: 'a 1×1 image (valid)', row: ndvi(files.onePixel, files.onePixelNir), expect: 'completed' },
    { input: 'an all-no-data image (valid: 0 valid pixels)', row: ndvi(files.allNodata), expect: 'completed' },
    { input: 'a 50000² sparse tiled GeoTIFF (a 77 KB header)', row: ndvi(files.sparseHuge, files.sparseHuge), expect: /^the bands' common grid \(red, nir\) would make an output of 50000 × 50000 = 2500000000 pixels, more than the 250000000 this master allows \(MAX_REQUEST_PIXELS\); cut the scene into smaller files/ },
  ];
}

async function insert(client: pg.Client, row: Row): Promise<string> {
  const columns = Object.keys(row) as (keyof Row)[];
  const values = columns.map((column) => (column === 'bands' ? JSON.stringify(row[column]) : row[column]));
  const placeholders = columns.map((column, i) => `$${i + 1}::${CASTS[column]}`);
  const sql = `INSERT INTO mosaic_requests (${columns.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING id::text AS id`;
  const { rows } = await client.query<{ id: string }>(sql, values);
  return rows[0]!.id;
}

/** What a message a user reads must not look like. */
function assertReadable(message: string, input: string): void {
  assert.doesNotMatch(message, /SECRET/, `${input}: the URL's query is shown`);
  assert.doesNotMatch(message, /\bundefined\b|\[object |TypeError|ReferenceError|^Error:|\n\s+at /, `${input}: not a message for a user: ${message}`);
  assert.ok(message.length < 600, `${input}: ${message.length} characters`);
}

describe('a battery of bad inputs, one master', { timeout: 180_000 }, () => {
  let dir: string;
  let files: OddInputs;
  let server: FaultyHttpServer;
  let cluster: PostgresCluster;
  let client: pg.Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-bad-inputs-'));
    files = await writeOddInputs(join(dir, 'in'));
    server = await startFaultyHttpServer(new Map([['page.tif', files.htmlBytes]]), {
      'denied.tif': { kind: 'status', status: 403 },
      'broken.tif': { kind: 'status', status: 500 },
      'login.tif': { kind: 'html', status: 200 },
      'short.tif': { kind: 'lie' },
    });
    cluster = await startPostgresCluster({ outputDir: join(dir, 'out'), workers: 2, prefix: 'battery' });
    client = cluster.client;
  });
  after(async () => {
    await cluster?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('each bad input fails its row readably, and the good request after it completes', async () => {
    const battery = cases(files, server, await freePort());
    assert.ok(battery.filter((c) => c.expect !== 'completed').length >= 30);
    // All at once, each followed by a good request: the master claims them in id order.
    const inserted: Array<{ kase: Case; id: string; goodId: string }> = [];
    for (const kase of battery) {
      const id = await insert(client, kase.row);
      const goodId = await insert(client, { bands: { red: files.red, nir: files.nir }, indices: ['ndvi'] });
      inserted.push({ kase, id, goodId });
    }
    const seen: Array<{ input: string; status: string; message: string }> = [];
    const problems: string[] = [];
    for (const { kase, id, goodId } of inserted) {
      const row = await waitFinished(cluster.master.store, id, 60_000);
      const message = row.error ?? '';
      seen.push({ input: kase.input, status: row.status, message });
      try {
        if (kase.expect === 'completed') {
          assert.equal(row.status, 'completed', `${kase.input}: ${message}`);
        } else {
          assert.equal(row.status, 'failed', kase.input);
          assertReadable(message, kase.input);
          assert.match(message, kase.expect, kase.input);
        }
        const good = await waitFinished(cluster.master.store, goodId, 60_000);
        assert.equal(good.status, 'completed', `the good request after "${kase.input}": ${good.error ?? ''}`);
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    const out = process.env['BAD_INPUT_MESSAGES'];
    if (out) await writeFile(out, seen.map((s) => `${s.input}\t${s.status}\t${s.message}`).join('\n') + '\n');
    assert.deepEqual(problems, []);

    // The all-no-data image completed with a mosaic that says it holds no valid pixel.
    const noData = inserted.find((i) => i.kase.input.startsWith('an all-no-data image'))!;
    const row = await waitFinished(cluster.master.store, noData.id);
    const manifest = JSON.parse(await readFile(join(row.outputDir!, 'manifest.json'), 'utf8')) as { stats: { ndvi: { validPixels: number } } };
    assert.equal(manifest.stats.ndvi.validPixels, 0);
  });
});
