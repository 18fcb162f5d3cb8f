/**
 * The web client in a real browser (playwright-core driving Debian's chromium, headless) against a
 * real master, two real workers over gRPC and tessera web, all on one PostgreSQL database: the
 * bundled sample is submitted through the form, its row goes live to completed with the progress
 * bar moving, the request page shows the preview on the map at the manifest's bounds, the workers
 * page shows two workers whose tiles add up to the total, and a long request is cancelled from its
 * page. The workers are held on a turnstile so that "moving" is seen, not hoped for. Screenshots
 * go to a temp folder, whose path is printed. Nothing may be fetched from anywhere but tessera web.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import type { Manifest } from '../../master/output/manifest.js';
import { packageRoot } from '../../shared/package-root.js';
import { processTile } from '../../worker/tile-processor.js';
import { startTestMaster, startWorkers } from '../support/cluster.js';
import { createTestDatabase } from '../support/test-database.js';
import { startTestWeb } from '../support/test-web.js';
import { Turnstile } from '../support/turnstile.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'browser-test-token-0123456789abcdef';
const sample = join(packageRoot(), 'samples', 'L7_ETMs.tif');
const NO_CHROMIUM = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`;

/** Headless chromium that reaches out to nothing by itself. */
const launchChromium = () => chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });

test('the web client, in chromium: submit, watch, look at the map and the workers, cancel', { skip: NO_CHROMIUM, timeout: 180_000 }, async (t) => {
  const database = await createTestDatabase();
  const outputDir = await mkdtemp(join(tmpdir(), 'tessera-web-browser-'));
  const screens = await mkdtemp(join(tmpdir(), 'tessera-web-screenshots-'));
  process.stderr.write(`web client screenshots go to ${screens}\n`); // at once: a failing run shows how far it got
  const master = await startTestMaster({ databaseUrl: database.url, outputDir, pollIntervalMs: 100, workerStatsMs: 200 });
  let gate = new Turnstile(); // replaced for the second request; the workers read it per tile
  const workers = startWorkers(2, master.grpcPort, 'browser-worker', {
    process: async (task, sources, scratch) => {
      await gate.pass();
      return processTile(task, sources, scratch);
    },
  });
  const web = await startTestWeb({ WEB_TOKEN: TOKEN, WEB_BASEMAP_URL: 'none' }, database);
  const browser = await launchChromium();
  t.after(async () => {
    gate.allow(Infinity);
    await browser.close();
    await web.stop();
    await Promise.all(workers.map((worker) => worker.stop({ graceful: false })));
    await master.stop({ graceful: false, timeoutMs: 2_000 });
    await database.drop();
    await rm(outputDir, { recursive: true, force: true });
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const elsewhere: string[] = [];
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(`${web.url}/`)) return route.continue();
    elsewhere.push(route.request().url());
    return route.abort();
  });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const shot = (name: string, on: Page = page) => on.screenshot({ path: join(screens, name), fullPage: true });

  // 1. The sample through the form: 352 rows in strips of 64 rows, 6 tiles.
  await page.goto(`${web.url}/new.html`);
  for (const [band, number] of [['red', 3], ['nir', 4], ['green', 2], ['swir16', 5]] as const) await page.fill(`input[name=band-${band}]`, `${sample}#${number}`);
  await page.check('input[name=index][value=ndsi]');
  await page.fill('input[name=strip_rows]', '64');
  await page.fill('input[name=token]', TOKEN);
  await shot('1-new-request.png');
  const claimed = master.events.next('request:claimed');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/\?submitted=\d+$/);
  const id = new URL(page.url()).searchParams.get('submitted') ?? '';
  assert.equal((await claimed).requestId, id);
  const row = `#requests tr[data-id="${id}"]`;

  // 2. The progress bar moves: one tile let through, the row shows 1 of 6, then the rest.
  gate.allow(1);
  await page.waitForSelector(`${row}[data-tiles-done="1"][data-tiles-total="6"][data-status="running"]`);
  assert.equal(await page.getAttribute(`${row} .bar > span`, 'style'), `width: ${((1 / 6) * 100).toFixed(1)}%`);
  await shot('2-requests-running.png');
  const scraped = await (await fetch(`${web.url}/metrics`)).text(); // the autoscaling signal, from the table, mid-run
  assert.match(scraped, /^tessera_requests\{status="running"\} 1$/m);
  assert.match(scraped, /^tessera_requests_pending 0$/m);
  gate.allow(Infinity);
  await page.waitForSelector(`${row}[data-status="completed"][data-tiles-done="6"]`);
  assert.equal(await page.getAttribute(`${row} .bar > span`, 'style'), 'width: 100.0%');
  await shot('3-requests-completed.png');

  // 3. The request page: the preview overlay where the manifest says it belongs.
  const manifest = JSON.parse(await readFile(join(outputDir, id, 'manifest.json'), 'utf8')) as Manifest;
  await page.click(`${row} a`);
  await page.waitForSelector('#map[data-overlay-bounds]');
  const preview = manifest.preview?.ndvi;
  assert.ok(preview, 'the manifest has an NDVI preview');
  assert.deepEqual(JSON.parse((await page.getAttribute('#map', 'data-overlay-bounds')) ?? ''), preview.latLngBounds);
  const overlay = await page.waitForSelector('.leaflet-overlay-pane img.leaflet-image-layer');
  assert.ok((await overlay.getAttribute('src'))?.endsWith(`/files/${preview.file}`));
  // (Expressions as strings: this file is compiled without the DOM's types.)
  await page.waitForFunction(`document.querySelector('.leaflet-overlay-pane img').naturalWidth === ${preview.width}`);
  await page.fill('#opacity', '0.5');
  assert.match((await overlay.getAttribute('style')) ?? '', /opacity: 0\.5/);
  assert.match((await page.getAttribute('#legend-ramp', 'style')) ?? '', /linear-gradient/);
  assert.equal(await page.locator('#files a', { hasText: /^ndvi_color\.png$/ }).count(), 1);
  assert.equal(await page.locator('#stats tbody tr').count(), 2);
  assert.equal(await page.isHidden('#cancel'), true, 'no cancel button once completed');
  await shot('4-request-map.png');

  // 4. The workers page: the two workers, whose tiles add up to the request's.
  await page.goto(`${web.url}/workers.html`);
  const workerRows = `#workers tr[data-master="${master.masterId}"]`;
  await page.waitForFunction(
    `document.querySelectorAll('${workerRows}').length === 2 &&
     [...document.querySelectorAll('${workerRows}')].reduce((sum, tr) => sum + Number(tr.dataset.tilesDone), 0) === ${manifest.tiles.total}`,
  );
  const perWorker = await Promise.all((await page.locator(workerRows).all()).map(async (tr) => Number(await tr.getAttribute('data-tiles-done'))));
  assert.equal(perWorker.length, 2);
  assert.equal(perWorker.reduce((a, b) => a + b, 0), manifest.tiles.total);
  assert.equal(manifest.tiles.total, 6);
  await shot('5-workers.png');

  // 5. A long request (22 tiles), held after 2, cancelled from its page.
  gate = new Turnstile();
  const longClaimed = master.events.next('request:claimed');
  const created = await fetch(`${web.url}/api/requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ bands: { red: `${sample}#3`, nir: `${sample}#4` }, indices: ['ndvi'], strip_rows: 16 }),
  });
  const longId = ((await created.json()) as { id: string }).id;
  assert.equal((await longClaimed).requestId, longId);
  gate.allow(2);
  await gate.passed(2);
  await page.goto(`${web.url}/request.html?id=${longId}`);
  await page.waitForSelector('#summary[data-status="running"]');
  const cancelled = master.events.next('request:cancelled', (e) => e.requestId === longId);
  await page.click('#cancel');
  await page.waitForSelector('#summary[data-status="cancelled"]');
  await cancelled;
  assert.equal(await page.isHidden('#cancel'), true);
  assert.equal((await web.store.get(longId))?.status, 'cancelled');
  await shot('6-request-cancelled.png');

  assert.deepEqual(elsewhere, [], 'nothing fetched from anywhere but tessera web');
  assert.deepEqual(pageErrors, [], 'no script error on any page');
  t.diagnostic(`web client screenshots: ${screens}`);
});

test('the new-request form, in chromium: an EarthDaily box drawn on the map fills the corners; a refused request shows the API\'s words', { skip: NO_CHROMIUM, timeout: 120_000 }, async (t) => {
  const web = await startTestWeb({ WEB_BASEMAP_URL: 'none' });
  const browser = await launchChromium();
  t.after(async () => {
    await browser.close();
    await web.stop();
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${web.url}/new.html`);
  assert.equal(await page.isHidden('#token-field'), true, 'no token asked for when WEB_TOKEN is unset');
  await page.check('input[name=source][value=earthdaily]');
  await page.waitForSelector('#box-map .leaflet-pm-icon-rectangle');

  // Drawn with Geoman's rectangle tool: two clicks, north-west then south-east.
  await page.click('#box-map .leaflet-pm-icon-rectangle');
  const box = await page.locator('#box-map').boundingBox();
  assert.ok(box);
  await page.mouse.click(box.x + box.width * 0.4, box.y + box.height * 0.3);
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.6);
  await page.waitForFunction(`document.querySelector('input[name=ul_lat]').value !== ''`);
  const corner = async (name: string) => Number(await page.inputValue(`input[name=${name}]`));
  const [ulLat, ulLng, lrLat, lrLng] = [await corner('ul_lat'), await corner('ul_lng'), await corner('lr_lat'), await corner('lr_lng')];
  assert.ok(ulLat > lrLat && ulLng < lrLng, `north-west over south-east: ${[ulLat, ulLng, lrLat, lrLng].join(', ')}`);

  // Typed corners in the wrong order: refused in the request rules' words, nothing inserted.
  await page.fill('input[name=ul_lat]', '46.48');
  await page.fill('input[name=lr_lat]', '46.52');
  await page.fill('input[name=ul_lng]', '6.55');
  await page.fill('input[name=lr_lng]', '6.62');
  await page.click('button[type=submit]');
  await page.waitForSelector('#form-error:not(:empty)');
  assert.match((await page.textContent('#form-error')) ?? '', /^the corners are in the wrong order: the upper-left corner \(46\.48, 6\.55\) must be north-west/);
  assert.deepEqual(await web.store.list(), []);

  // Put right, it is inserted with the typed corners, and the page moves to the table.
  await page.fill('input[name=ul_lat]', '46.52');
  await page.fill('input[name=lr_lat]', '46.48');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/\?submitted=\d+$/);
  const [row] = await web.store.list();
  assert.deepEqual([row?.source, row?.ulLat, row?.ulLng, row?.lrLat, row?.lrLng, row?.resolution], ['earthdaily', 46.52, 6.55, 46.48, 6.62, 10]);
  assert.deepEqual(pageErrors, []);
});
