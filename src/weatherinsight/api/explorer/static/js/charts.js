// SVG charts drawn by hand: a feature over quarters (coverage shading, gaps) and a histogram across stations.
import { fmt, h } from "./ui.js";

const W = 320;
const H = 150;
const PAD = { l: 38, r: 8, t: 8, b: 22 };

/** Every quarter label from `first` to `last` (inclusive), e.g. 2023Q4, 2024Q1. */
export function quarterSpan(first, last) {
  const out = [];
  let [y, q] = first;
  while (y < last[0] || (y === last[0] && q <= last[1])) {
    out.push(`${y}Q${q}`);
    q += 1;
    if (q === 5) { q = 1; y += 1; }
  }
  return out;
}

/**
 * One feature of one station over `labels` (all quarters of the range). `points` maps a quarter label to
 * {value, coverage}; a missing label or a null value is a gap (no line through it, grey band).
 */
export function seriesChart({ id, title, unit, labels, points, minCoverage }) {
  const values = labels.map((l) => points.get(l)?.value).filter((v) => v !== null && v !== undefined);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const span = hi > lo ? hi - lo : Math.abs(hi) || 1;
  const x = (i) => PAD.l + (labels.length > 1 ? (i / (labels.length - 1)) * (W - PAD.l - PAD.r) : (W - PAD.l - PAD.r) / 2);
  const y = (v) => PAD.t + (1 - (hi > lo ? (v - lo) / span : 0.5)) * (H - PAD.t - PAD.b);
  const step = labels.length > 1 ? (W - PAD.l - PAD.r) / (labels.length - 1) : 12;
  const bands = [];
  const dots = [];
  let path = "";
  let pen = false;
  labels.forEach((label, i) => {
    const p = points.get(label);
    const has = p && p.value !== null && p.value !== undefined;
    if (!has || p.coverage < minCoverage) {
      bands.push(h("rect", { class: has ? "low-band" : "gap-band", x: (x(i) - step / 2).toFixed(1), y: PAD.t, width: Math.max(step, 1).toFixed(1), height: H - PAD.t - PAD.b }));
    }
    if (!has) { pen = false; return; }
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
    pen = true;
    const low = p.coverage < minCoverage;
    dots.push(h("circle", { class: `pt${low ? " low" : ""}`, cx: x(i).toFixed(1), cy: y(p.value).toFixed(1), r: labels.length > 40 ? 1.6 : 2.6, "data-quarter": label, "data-value": p.value },
      h("title", {}, `${label}: ${fmt(p.value)} ${unit} (coverage ${(p.coverage * 100).toFixed(1)} %)`)));
  });
  return h("figure", { class: "chart", "data-chart": id },
    h("figcaption", {}, h("strong", {}, title), ` (${unit})`),
    h("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${title}: ${values.length} of ${labels.length} quarters with a value` },
      bands,
      h("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }),
      h("text", { x: PAD.l - 4, y: PAD.t + 8, "text-anchor": "end" }, fmt(hi, 1)),
      h("text", { x: PAD.l - 4, y: H - PAD.b, "text-anchor": "end" }, fmt(lo, 1)),
      h("text", { x: PAD.l, y: H - 6 }, labels[0] ?? ""),
      h("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, labels.at(-1) ?? ""),
      h("path", { class: "line", d: path }),
      dots));
}

/** A histogram of `values` in 12 equal bins with the count, median and range in the caption. */
export function histogram({ id, title, unit, values }) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  const n = sorted.length;
  const bins = 12;
  const lo = sorted[0];
  const hi = sorted[n - 1];
  const counts = new Array(bins).fill(0);
  for (const v of sorted) counts[hi > lo ? Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins)) : 0] += 1;
  const top = Math.max(1, ...counts);
  const bw = (W - PAD.l - PAD.r) / bins;
  const median = n ? (n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2) : null;
  return h("figure", { class: "chart hist", "data-histogram": id, "data-n": n },
    h("figcaption", {}, h("strong", {}, title), ` (${unit}) · n ${n} · median ${fmt(median)} · ${fmt(lo)} – ${fmt(hi)}`),
    h("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `distribution of ${title} across ${n} stations` },
      counts.map((c, i) => h("rect", { x: (PAD.l + i * bw + 1).toFixed(1), width: (bw - 2).toFixed(1), y: (PAD.t + (1 - c / top) * (H - PAD.t - PAD.b)).toFixed(1), height: ((c / top) * (H - PAD.t - PAD.b)).toFixed(1) },
        h("title", {}, `${c} stations`))),
      h("line", { class: "axis", x1: PAD.l, x2: W - PAD.r, y1: H - PAD.b, y2: H - PAD.b }),
      h("text", { x: PAD.l - 4, y: PAD.t + 8, "text-anchor": "end" }, top),
      h("text", { x: PAD.l, y: H - 6 }, n ? fmt(lo, 1) : ""),
      h("text", { x: W - PAD.r, y: H - 6, "text-anchor": "end" }, n ? fmt(hi, 1) : "")));
}
