// The new-request form: builds the request's columns, POSTs them, and shows the API's readable error.
import { getJson, postJson, saveToken, savedToken } from './api.js';
import { boxPicker } from './box-draw.js';
import { header } from './nav.js';

header();
const form = document.querySelector('#request-form');
const problem = document.querySelector('#form-error');
const config = await getJson('/api/config');
const field = (name) => form.elements.namedItem(name);
let boxMap = null;

if (config.token_required) {
  document.querySelector('#token-field').hidden = false;
  field('token').value = savedToken();
}

function showSource() {
  const earthdaily = field('source').value === 'earthdaily';
  document.querySelector('#sentinel2').hidden = earthdaily;
  document.querySelector('#earthdaily').hidden = !earthdaily;
  if (earthdaily && boxMap === null) boxMap = boxPicker(document.querySelector('#box-map'), form, config);
  if (earthdaily) boxMap.invalidateSize();
}
for (const radio of form.querySelectorAll('input[name=source]')) radio.addEventListener('change', showSource);

/** A number field: its number, or null when it is empty (the column default). */
function numberOf(name) {
  const text = field(name).value.trim();
  return text === '' ? null : Number(text);
}

function requestFromForm() {
  const source = field('source').value;
  const request = {
    source,
    indices: [...form.querySelectorAll('input[name=index]:checked')].map((box) => box.value),
    formats: [...form.querySelectorAll('input[name=format]:checked')].map((box) => box.value),
    reflectance_offset: numberOf('reflectance_offset'),
    strip_rows: numberOf('strip_rows'),
  };
  if (source === 'sentinel2') {
    request.bands = {};
    for (const band of ['red', 'nir', 'green', 'swir16', 'swir22', 'blue']) {
      const value = field(`band-${band}`).value.trim();
      if (value !== '') request.bands[band] = value;
    }
  } else {
    for (const name of ['ul_lat', 'ul_lng', 'lr_lat', 'lr_lng', 'resolution']) request[name] = numberOf(name);
    const url = field('url').value.trim();
    if (url !== '') request.url = url;
  }
  return request;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  problem.textContent = '';
  if (config.token_required) saveToken(field('token').value.trim());
  const { ok, status, body } = await postJson('/api/requests', requestFromForm());
  if (ok) {
    location.assign(`/?submitted=${encodeURIComponent(body.id)}`); // the table, where it goes live
    return;
  }
  problem.textContent = status === 401 ? `${body.error} (fill in the web token)` : (body.error ?? `the server answered ${status}`);
});
