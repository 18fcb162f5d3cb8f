// The EarthDaily box: a rectangle drawn on the map (Leaflet-Geoman) and the four typed corners, kept in step.
/* global L */
import { createMap } from './basemap.js';

export function boxPicker(element, form, config) {
  const map = createMap(element, config);
  map.pm.addControls({ position: 'topleft', drawMarker: false, drawCircleMarker: false, drawPolyline: false, drawPolygon: false, drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false });
  let box = null;
  const corner = (name) => form.elements.namedItem(name);

  function fromBounds(bounds) {
    corner('ul_lat').value = bounds.getNorth().toFixed(6);
    corner('ul_lng').value = bounds.getWest().toFixed(6);
    corner('lr_lat').value = bounds.getSouth().toFixed(6);
    corner('lr_lng').value = bounds.getEast().toFixed(6);
  }

  function replaceBox(layer) {
    if (box && box !== layer) box.remove();
    box = layer;
    fromBounds(layer.getBounds());
    layer.on('pm:edit', () => fromBounds(layer.getBounds()));
  }

  map.on('pm:create', (event) => replaceBox(event.layer));
  for (const name of ['ul_lat', 'ul_lng', 'lr_lat', 'lr_lng']) {
    corner(name).addEventListener('change', () => {
      const names = ['ul_lat', 'ul_lng', 'lr_lat', 'lr_lng'];
      if (!names.every((n) => corner(n).value.trim() !== '' && Number.isFinite(Number(corner(n).value)))) return;
      const [north, west, south, east] = names.map((n) => Number(corner(n).value));
      const bounds = L.latLngBounds([south, west], [north, east]);
      if (box) box.setBounds(bounds);
      else box = L.rectangle(bounds).addTo(map);
      map.fitBounds(bounds, { maxZoom: 14 });
    });
  }
  return map;
}
