// The request's map: the web preview of one index (<index>_preview.png, EPSG:3857) as an image
// overlay at the manifest's latLngBounds, an opacity slider and the index's colour ramp as a legend.
/* global L */
import { createMap } from './basemap.js';

export function previewMap(elements, config, requestId, manifest) {
  const { map: mapElement, select, opacity, ramp, low, high, note } = elements;
  const map = createMap(mapElement, config);
  const previews = manifest?.preview ?? {};
  const indices = Object.keys(previews);
  let overlay = null;
  if (indices.length === 0) {
    note.textContent = 'No web preview for this request (it has not finished, or its master wrote none).';
    return map;
  }
  for (const index of indices) select.append(new Option(index.toUpperCase(), index));

  function show(index) {
    const preview = previews[index];
    overlay?.remove();
    const url = `/api/requests/${encodeURIComponent(requestId)}/files/${encodeURIComponent(preview.file)}`;
    overlay = L.imageOverlay(url, preview.latLngBounds, { opacity: Number(opacity.value), alt: `${index} preview` }).addTo(map);
    const bounds = overlay.getBounds();
    mapElement.dataset.overlayBounds = JSON.stringify([[bounds.getSouth(), bounds.getWest()], [bounds.getNorth(), bounds.getEast()]]);
    mapElement.dataset.overlayIndex = index;
    map.fitBounds(bounds);
    const stops = config.legends[index] ?? [];
    ramp.style.background = `linear-gradient(to right, ${stops.map((s) => s.colour).join(', ')})`;
    // A custom expression maps its own range onto the codes: its legend's ends are that range.
    const range = index === 'expr' ? manifest?.expression?.range : undefined;
    low.textContent = (range ? range[0] : stops[0]?.value)?.toFixed(2) ?? '';
    high.textContent = (range ? range[1] : stops.at(-1)?.value)?.toFixed(2) ?? '';
  }
  select.addEventListener('change', () => show(select.value));
  opacity.addEventListener('input', () => overlay?.setOpacity(Number(opacity.value)));
  show(indices[0]);
  return map;
}
