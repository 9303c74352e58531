// The fixed map projection (equirectangular, longitude scaled by cos 51.2° so Germany keeps its shape) and
// the state outlines from germany.json.
const K = 60;
const LON0 = 5.5;
const LAT0 = 55.2;
const COS = Math.cos((51.2 * Math.PI) / 180);
export const WIDTH = Math.round((15.6 - LON0) * COS * K);
export const HEIGHT = Math.round((LAT0 - 47.0) * K);

export function project(lon, lat) {
  return [(lon - LON0) * COS * K, (LAT0 - lat) * K];
}

let outline = null;
export function states() {
  outline ??= fetch("/explorer/germany.json").then((r) => r.json()).then((g) => g.states);
  return outline;
}

const paths = new WeakMap();
/** The SVG path of a state's rings (computed once per state: the outline never changes). */
export function ringPath(rings) {
  if (!paths.has(rings)) paths.set(rings, buildPath(rings));
  return paths.get(rings);
}

function buildPath(rings) {
  return rings
    .map((ring) => "M" + ring.map(([lon, lat]) => project(lon, lat).map((v) => v.toFixed(1)).join(",")).join("L") + "Z")
    .join("");
}
