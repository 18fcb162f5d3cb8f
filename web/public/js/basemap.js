// A Leaflet map with the configured basemap (WEB_BASEMAP_URL), or none: the pages work offline.
/* global L */

export function createMap(element, config) {
  const map = L.map(element, { worldCopyJump: true }).setView([20, 0], 2);
  if (config.basemap_url) {
    L.tileLayer(config.basemap_url, { maxZoom: 19, attribution: '&copy; OpenStreetMap contributors' }).addTo(map);
  }
  return map;
}
