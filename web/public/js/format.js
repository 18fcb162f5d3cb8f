// Small formatting helpers shared by the pages.

/** An element with text and attributes: el('td', { class: 'num' }, '12'). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** Seconds between two ISO times (the second defaulting to now), as "12.3 s" or "4 min 5 s". */
export function duration(fromIso, toIso) {
  if (!fromIso) return '';
  const seconds = ((toIso ? new Date(toIso) : new Date()) - new Date(fromIso)) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function bytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function ms(n) {
  return Number.isFinite(n) ? (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${Math.round(n)} ms`) : '';
}

/** A progress bar for tiles_done of tiles_total (empty until the master has planned the tiles). */
export function progressBar(done, total) {
  const fraction = total ? Math.min(1, done / total) : 0;
  const bar = el('span', { class: 'bar', role: 'progressbar', 'aria-valuenow': done, 'aria-valuemax': total ?? '', title: total ? `${done} / ${total} tiles` : 'not planned yet' });
  bar.append(el('span', { style: `width: ${(fraction * 100).toFixed(1)}%` }));
  return bar;
}

export function statusBadge(status) {
  return el('span', { class: `status ${status}` }, status);
}
