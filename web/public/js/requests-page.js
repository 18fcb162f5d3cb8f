// The requests table: one page from GET /api/requests, kept up to date by /api/events.
import { getJson, watchRequests } from './api.js';
import { duration, el, progressBar, statusBadge, when } from './format.js';
import { header } from './nav.js';

header();
const body = document.querySelector('#requests tbody');
const older = document.querySelector('#older');
const problem = document.querySelector('#problem');
let nextBefore = null;
const submitted = new URLSearchParams(location.search).get('submitted');

function rowFor(request) {
  const tr = el(
    'tr',
    { 'data-id': request.id, 'data-status': request.status, 'data-tiles-done': request.tiles_done, 'data-tiles-total': request.tiles_total ?? '' },
    el('td', {}, el('a', { href: `/request.html?id=${encodeURIComponent(request.id)}` }, request.id)),
    el('td', {}, request.source),
    el('td', {}, (request.indices ?? []).join(', ')),
    el('td', {}, statusBadge(request.status)),
    el('td', {}, progressBar(request.tiles_done, request.tiles_total), ' ', el('span', { class: 'muted' }, request.tiles_total ? `${request.tiles_done}/${request.tiles_total}` : '')),
    el('td', {}, when(request.created_at)),
    el('td', { class: 'num' }, duration(request.started_at, request.finished_at)),
    el('td', { class: 'error' }, request.error ?? ''),
  );
  if (request.id === submitted) tr.classList.add('submitted');
  return tr;
}

/** Replaces the row of this request, or puts a new one in id order. */
function show(request) {
  const fresh = rowFor(request);
  const existing = body.querySelector(`tr[data-id="${CSS.escape(request.id)}"]`);
  if (existing) return existing.replaceWith(fresh);
  const after = [...body.children].find((tr) => BigInt(tr.dataset.id) < BigInt(request.id));
  if (after) body.insertBefore(fresh, after);
  else if (nextBefore === null || body.children.length === 0) body.append(fresh); // an older page not loaded yet: leave it there
}

async function loadPage(before) {
  try {
    const page = await getJson(`/api/requests?limit=50${before ? `&before=${before}` : ''}`);
    for (const request of page.requests) show(request);
    nextBefore = page.next_before;
    older.hidden = nextBefore === null;
    problem.textContent = '';
  } catch (error) {
    problem.textContent = `Cannot read the requests: ${error.message}`;
  }
}

older.addEventListener('click', () => loadPage(nextBefore));
watchRequests(show);
await loadPage(null);
