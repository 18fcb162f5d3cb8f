// The header every page shows.
import { el } from './format.js';

const PAGES = [['/', 'Requests'], ['/new.html', 'New request'], ['/workers.html', 'Workers']];

export function header() {
  const bar = el('header', {}, el('strong', {}, 'tessera'));
  const here = location.pathname === '/index.html' ? '/' : location.pathname;
  for (const [href, label] of PAGES) bar.append(el('a', { href, class: href === here ? 'here' : undefined }, label));
  document.body.prepend(bar);
}
