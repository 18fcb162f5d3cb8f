// One request: its state (live), outputs to download, manifest statistics, stage timings, tiles per
// worker, the preview on a map, and a cancel button while it is pending or running.
import { getJson, postJson, watchRequests } from './api.js';
import { bytes, duration, el, ms, progressBar, statusBadge, when } from './format.js';
import { header } from './nav.js';
import { previewMap } from './preview-map.js';

header();
const id = new URLSearchParams(location.search).get('id') ?? '';
const $ = (selector) => document.querySelector(selector);
const config = await getJson('/api/config');
let mapShown = false;

function fill(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map(([text, attrs]) => el('td', attrs ?? {}, text)))));
}

function showSummary(request) {
  document.title = `tessera — request ${request.id}`;
  $('#title').textContent = `Request ${request.id}`;
  const summary = $('#summary');
  summary.dataset.status = request.status;
  summary.replaceChildren(
    statusBadge(request.status), ' ',
    progressBar(request.tiles_done, request.tiles_total), ' ',
    `${request.tiles_done}/${request.tiles_total ?? '?'} tiles · ${request.source} · ${(request.indices ?? []).join(', ')} · created ${when(request.created_at)}`,
    request.started_at ? ` · ${duration(request.started_at, request.finished_at)}` : '',
    request.claimed_by ? ` · master ${request.claimed_by}` : '',
  );
  if (request.error) summary.append(el('div', { class: 'error' }, request.error));
  $('#cancel').hidden = !['pending', 'running'].includes(request.status);
  fill($('#timings tbody'), Object.entries(request.timings ?? {}).map(([stage, value]) => [[stage], [ms(value), { class: 'num' }]]));
  fill($('#worker-tiles tbody'), Object.entries(request.worker_tiles ?? {}).map(([worker, tiles]) => [[worker], [tiles, { class: 'num' }]]));
}

async function showResults(request) {
  const files = request.files ?? [];
  $('#files').replaceChildren(
    ...files.map((name) => el('li', {}, el('a', { href: `/api/requests/${encodeURIComponent(request.id)}/files/${encodeURIComponent(name)}`, download: name }, name))),
  );
  if (!files.includes('manifest.json') || mapShown) return;
  mapShown = true;
  const manifest = await getJson(`/api/requests/${encodeURIComponent(request.id)}/files/manifest.json`);
  fill($('#stats tbody'), Object.entries(manifest.stats ?? {}).map(([index, s]) => [
    [index], [s.validPixels, { class: 'num' }], [s.min?.toFixed(3) ?? '', { class: 'num' }], [s.mean?.toFixed(3) ?? '', { class: 'num' }], [s.max?.toFixed(3) ?? '', { class: 'num' }],
  ]));
  const tiles = manifest.tiles ?? {};
  $('#map-note').textContent = `${tiles.total ?? '?'} tiles · ${bytes(tiles.payloadBytes)} of source data shipped · ${bytes(tiles.resultBytes)} of PNG strips back`;
  previewMap(
    { map: $('#map'), select: $('#overlay-index'), opacity: $('#opacity'), ramp: $('#legend-ramp'), low: $('#legend-low'), high: $('#legend-high'), note: $('#map-note') },
    config, request.id, manifest,
  );
}

async function refresh() {
  try {
    const request = await getJson(`/api/requests/${encodeURIComponent(id)}`);
    showSummary(request);
    await showResults(request);
  } catch (error) {
    $('#problem').textContent = error.message;
  }
}

$('#cancel').addEventListener('click', async () => {
  const { ok, body } = await postJson(`/api/requests/${encodeURIComponent(id)}/cancel`);
  $('#cancel-result').textContent = ok ? '' : body.error;
  await refresh();
});

watchRequests((request) => {
  if (request.id !== id) return;
  showSummary(request);
  if (['completed', 'failed', 'cancelled'].includes(request.status)) void refresh(); // the files list comes with GET
});
await refresh();
