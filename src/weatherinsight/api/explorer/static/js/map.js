// The map page: every station on the outline of Germany, coloured by one feature of one published quarter.
import * as api from "./api.js";
import { HEIGHT, WIDTH, project, ringPath, states } from "./geo.js";
import { errorBox, fmt, h, pct, select, viridis, VIRIDIS_STOPS } from "./ui.js";

const view = { feature: null, quarter: null, product: "", state: "", name: "" };

export async function renderMap(root) {
  const [catalog, stations, outline] = await Promise.all([api.catalog(), api.stations(), states()]);
  const numeric = catalog.filter((f) => f.sql_type !== "str");
  if (!view.feature) view.feature = `${numeric[0].product}.${numeric[0].name}`;
  const [product, feature] = view.feature.split(".");
  const meta = numeric.find((f) => f.product === product && f.name === feature);
  const quarters = await api.publishedQuarters(product);
  if (!quarters.some((q) => q.label === view.quarter)) view.quarter = quarters[0]?.label ?? null;
  const chosen = quarters.find((q) => q.label === view.quarter);
  let rows = [];
  if (chosen) {
    rows = (await api.getAll(`/features/${product}/${chosen.year}/${chosen.quarter}`, { features: feature })).data;
  }
  const byStation = new Map(rows.map((r) => [r.station_id, r]));
  const values = rows.map((r) => r[feature]).filter((v) => v !== null && v !== undefined);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const scale = (v) => viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);

  const needle = view.name.trim().toLowerCase();
  const shown = stations.filter(
    (s) =>
      (!view.product || s.products.includes(view.product)) &&
      (!view.state || s.state === view.state) &&
      (!needle || s.name.toLowerCase().includes(needle) || String(s.station_id) === needle),
  );
  const rerender = (key) => (value) => { view[key] = value; renderMap(root).catch((e) => root.replaceChildren(errorBox(e))); };
  const stateNames = [...new Set(stations.map((s) => s.state).filter(Boolean))].sort((a, b) => a.localeCompare(b, "de"));
  const productNames = [...new Set(numeric.map((f) => f.product))];

  const controls = h("div", { class: "controls" },
    h("label", {}, "Feature (colour)",
      h("select", { name: "feature", onchange: (e) => rerender("feature")(e.target.value) },
        productNames.map((p) => h("optgroup", { label: p },
          numeric.filter((f) => f.product === p).map((f) =>
            h("option", { value: `${p}.${f.name}`, selected: view.feature === `${p}.${f.name}` }, `${f.name} (${f.unit})`)))))),
    select("Quarter", "quarter", quarters.map((q) => [q.label, q.label]), view.quarter, rerender("quarter")),
    select("Product", "product", [["", "all products"], ...productNames.map((p) => [p, p])], view.product, rerender("product")),
    select("State", "state", [["", "all states"], ...stateNames.map((s) => [s, s])], view.state, rerender("state")),
    h("label", {}, "Name or id", h("input", { type: "search", name: "name", value: view.name, placeholder: "e.g. Potsdam",
      onchange: (e) => rerender("name")(e.target.value) })),
  );

  const tooltip = h("div", { class: "tooltip", role: "status", hidden: true });
  const show = (s, event) => {
    const r = byStation.get(s.station_id);
    tooltip.replaceChildren(
      h("strong", {}, `${s.name} (${s.station_id})`), h("br"),
      `${s.state ?? "state unknown"} · ${fmt(s.height_m, 1)} m · ${fmt(s.latitude, 4)}° N ${fmt(s.longitude, 4)}° E`, h("br"),
      r ? `${feature} ${view.quarter}: ${fmt(r[feature])} ${meta.unit}` : `no ${product} value in ${view.quarter ?? "any quarter"}`,
      r ? h("br") : null,
      r ? `coverage ${pct(r.coverage)}${r.coverage < api.MIN_COVERAGE ? " (below threshold)" : ""} · QN ${r.qn_min ?? "—"}–${r.qn_max ?? "—"}` : null,
    );
    const box = event.target.getBoundingClientRect();
    tooltip.style.left = `${Math.min(window.innerWidth - 290, box.right + 8)}px`;
    tooltip.style.top = `${box.top - 4}px`;
    tooltip.hidden = false;
  };
  const byId = new Map(shown.map((s) => [s.station_id, s]));
  const point = (e) => byId.get(Number(e.target.dataset?.stationId));
  const open = (s) => { window.location.hash = `#/station/${s.station_id}`; };

  const svg = h("svg", { class: "map", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "group", "aria-label": `Map of ${shown.length} stations` },
    h("g", {}, outline.map((st) => h("path", { class: `state${st.name === view.state ? " selected" : ""}`, d: ringPath(st.rings) }, h("title", {}, st.name)))),
    h("g", {
      // One set of listeners for all points (delegation): 600 points stay cheap to draw.
      onmouseover: (e) => point(e) && show(point(e), e), onfocusin: (e) => point(e) && show(point(e), e),
      onmouseout: () => { tooltip.hidden = true; }, onfocusout: () => { tooltip.hidden = true; },
      onclick: (e) => point(e) && open(point(e)), onkeydown: (e) => { if (e.key === "Enter" && point(e)) open(point(e)); },
    }, shown.map((s) => {
      const [x, y] = project(s.longitude, s.latitude);
      const r = byStation.get(s.station_id);
      const v = r?.[feature];
      const has = v !== null && v !== undefined;
      const low = has && r.coverage < api.MIN_COVERAGE;
      return h("circle", {
        class: `station${has ? "" : " nodata"}${low ? " low" : ""}`, cx: x.toFixed(1), cy: y.toFixed(1), r: has ? 4.5 : 3,
        fill: has ? scale(v) : null, stroke: low ? scale(v) : null, tabindex: 0, role: "link",
        "data-station-id": s.station_id, "data-value": has ? v : null,
        "aria-label": `${s.name} (${s.station_id}): ${has ? `${fmt(v)} ${meta.unit}` : "no value"}`,
      });
    })),
  );

  const legend = h("div", { class: "panel legend" },
    h("h2", {}, `${feature} · ${view.quarter ?? "no published quarter"}`),
    h("p", { class: "muted" }, meta.definition),
    values.length
      ? h("svg", { viewBox: "0 0 260 44", "aria-label": `colour scale from ${fmt(lo)} to ${fmt(hi)} ${meta.unit}` },
        h("defs", {}, h("linearGradient", { id: "scale" }, VIRIDIS_STOPS.map((c, i) => h("stop", { offset: `${(i / (VIRIDIS_STOPS.length - 1)) * 100}%`, "stop-color": c })))),
        h("rect", { x: 0, y: 0, width: 260, height: 16, fill: "url(#scale)" }),
        h("text", { x: 0, y: 32, "font-size": 12 }, `${fmt(lo)} ${meta.unit}`),
        h("text", { x: 260, y: 32, "font-size": 12, "text-anchor": "end" }, `${fmt(hi)} ${meta.unit}`))
      : h("p", {}, "No values for this quarter."),
    h("p", {}, `Hollow dashed points: coverage below ${pct(api.MIN_COVERAGE)}. Grey: no value.`),
    h("p", { "data-count": shown.length }, `${shown.length} of ${stations.length} stations shown; ${rows.length} with a ${product} row.`),
    chosen ? h("p", {}, h("a", { href: `#/quarter/${product}/${chosen.year}/${chosen.quarter}` }, `Quarter page ${view.quarter}`)) : null,
  );

  root.replaceChildren(h("h1", {}, "Stations"), controls, h("div", { class: "map-layout" }, svg, legend), tooltip);
}
