// The workers page: GET /api/workers every 2 s.
import { getJson } from './api.js';
import { bytes, el, ms, when } from './format.js';
import { header } from './nav.js';

header();
const body = document.querySelector('#workers tbody');
const problem = document.querySelector('#problem');

async function refresh() {
  try {
    const { workers, seen_within_s: seen } = await getJson('/api/workers');
    document.querySelector('#note').textContent = `Every worker a master has seen in the last ${Math.round(seen / 60)} min (worker_stats); refreshed every 2 s.`;
    body.replaceChildren(
      ...workers.map((w) =>
        el(
          'tr',
          { 'data-worker': w.worker_id, 'data-master': w.master_id, 'data-tiles-done': w.tiles_done },
          el('td', {}, w.worker_id),
          el('td', {}, w.master_id),
          el('td', {}, w.busy ? 'busy' : 'idle'),
          el('td', { class: 'num' }, w.tiles_done),
          el('td', { class: 'num' }, w.tiles_per_minute.toFixed(1)),
          el('td', { class: 'num' }, ms(w.decode_ms)),
          el('td', { class: 'num' }, ms(w.compute_ms)),
          el('td', { class: 'num' }, ms(w.encode_ms)),
          el('td', { class: 'num' }, bytes(w.bytes_in)),
          el('td', { class: 'num' }, bytes(w.bytes_out)),
          el('td', {}, when(w.last_seen)),
        ),
      ),
    );
    if (workers.length === 0) body.append(el('tr', {}, el('td', { colspan: 11, class: 'muted' }, 'No worker seen lately.')));
    problem.textContent = '';
  } catch (error) {
    problem.textContent = `Cannot read the workers: ${error.message}`;
  }
}

await refresh();
setInterval(refresh, 2000);
