// Small DOM and formatting helpers shared by the pages, and the colour-blind-safe scale (viridis).
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "path", "circle", "rect", "line", "text", "title", "polyline", "linearGradient", "stop", "defs"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(digits)));
}

export const pct = (share) => (share === null || share === undefined ? "—" : `${(share * 100).toFixed(1)} %`);

// Viridis, 9 evenly spaced stops: perceptually uniform and readable with the common colour-vision deficiencies.
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
export function viridis(t) {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]].map((c) => [1, 3, 5].map((j) => parseInt(c.slice(j, j + 2), 16)));
  const f = x - i;
  return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * f)).join(",")})`;
}
export const VIRIDIS_STOPS = VIRIDIS;

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, `Could not load data: ${error.message}`);
}

export function qlabel(year, quarter) {
  return `${year}Q${quarter}`;
}

export function select(label, name, options, value, onchange) {
  return h("label", {}, label,
    h("select", { name, onchange: (e) => onchange(e.target.value) },
      options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text))));
}

export function badge(text) {
  return h("span", { class: `badge ${text}` }, text);
}
