// Talking to tessera web's HTTP API from the pages: JSON in and out, the web token (kept in this
// browser's localStorage) on the calls that change something, readable errors.

/** GET a JSON document; throws an Error with the API's message. */
export async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

export function savedToken() {
  return localStorage.getItem('tessera-web-token') ?? '';
}

export function saveToken(token) {
  if (token) localStorage.setItem('tessera-web-token', token);
}

/** POST JSON (with the saved token, if any); resolves to { ok, status, body }. */
export async function postJson(path, payload) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const token = savedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(payload ?? {}) });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** Calls `onRow` with each request row the server reports changed (server-sent events). */
export function watchRequests(onRow) {
  const events = new EventSource('/api/events');
  events.addEventListener('request', (event) => onRow(JSON.parse(event.data)));
  return events;
}
