// The station page: location history, every product's features over all published quarters, their lineage
// and downloads of exactly the rows the charts draw.
import * as api from "./api.js";
import { quarterSpan, seriesChart } from "./charts.js";
import { badge, fmt, h, pct } from "./ui.js";

function km(a, b) {
  const rad = Math.PI / 180;
  const dlat = (b.latitude - a.latitude) * rad;
  const dlon = (b.longitude - a.longitude) * rad;
  const s = Math.sin(dlat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(s));
}

function locations(station) {
  const locs = station.locations;
  if (!locs.length) return h("p", { class: "muted" }, "No location history recorded (Metadaten_Geographie).");
  return h("div", { class: "scroll" }, h("table", { "data-table": "locations" },
    h("thead", {}, h("tr", {}, ["from", "to", "name", "latitude", "longitude", "height (m)", "move"].map((c) => h("th", {}, c)))),
    h("tbody", {}, locs.map((l, i) => h("tr", {},
      h("td", {}, l.valid_from), h("td", {}, l.valid_to ?? "today"), h("td", {}, l.name),
      h("td", { class: "num" }, fmt(l.latitude, 4)), h("td", { class: "num" }, fmt(l.longitude, 4)),
      h("td", { class: "num" }, fmt(l.height_m, 1)),
      h("td", {}, i === 0 ? "first" : `moved ${fmt(km(locs[i - 1], l), 2)} km, ${fmt(l.height_m - locs[i - 1].height_m, 1)} m`))))));
}

function lineage(all, product, versions) {
  const find = (kind, name) => all.find((d) => d.kind === kind && d.product === product && d.version_name === name);
  return h("ul", { class: "lineage", "data-lineage": product }, versions.map((name) => {
    const cur = find("curated", name);
    const staged = (cur?.parent_versions ?? []).map((p) => find("staged", p) ?? { version_name: p, status: "not recorded", parent_versions: [] });
    const raw = staged.flatMap((s) => s.parent_versions ?? []);
    return h("li", {},
      `raw ${raw.length ? raw.join(", ") : "(not recorded)"} → staged ${staged.map((s) => `${s.version_name} (${s.status})`).join(", ") || "(none)"} → curated ${name} `,
      cur ? badge(cur.status) : "", cur ? ` ${cur.row_count ?? "—"} rows` : "");
  }));
}

/** The station's latest value of each feature beside its anomaly against the published 1991–2020 normal of that
 * period of the year (the API's anomalies=true); asked only when such normals are published. */
async function anomalyTable(product, stationId, allDatasets, features, period) {
  const published = allDatasets.some((d) => d.kind === "normal" && d.status === "AVAILABLE" && d.product === product
    && (d.period_kind ?? "quarter") === period && d.version_name.startsWith(`${api.NORMALS_BASE}_`));
  if (!published) return h("p", { class: "muted", "data-anomalies": product }, `No published ${api.NORMALS_BASE} ${period} normals of ${product}: no anomalies.`);
  const rows = (await api.getAll(`/features/${product}`, { station_id: stationId, period, anomalies: "true" })).data;
  const last = rows.at(-1);
  if (!last) return null;
  const label = last.period ?? `${last.year}Q${last.quarter}`;
  const signed = (v) => (v === null || v === undefined ? "—" : `${v > 0 ? "+" : ""}${fmt(v, 2)}`);
  return h("div", { class: "scroll" }, h("table", { "data-table": "anomalies", "data-product": product },
    h("caption", {}, `${label} against the ${api.NORMALS_BASE} normal`),
    h("thead", {}, h("tr", {}, ["feature", "value", "anomaly", "anomaly %", "years in normal"].map((c) => h("th", {}, c)))),
    h("tbody", {}, features.map((f) => h("tr", { "data-feature": f.name },
      h("td", {}, f.name), h("td", { class: "num" }, `${fmt(last[f.name], 2)} ${f.unit}`),
      h("td", { class: "num", "data-anomaly": "" }, signed(last[`${f.name}_anomaly`])),
      h("td", { class: "num" }, `${f.name}_anomaly_pct` in last ? `${fmt(last[`${f.name}_anomaly_pct`], 1)} %` : ""),
      h("td", { class: "num" }, fmt(last[`${f.name}_normal_years`], 0)))))));
}

/** A month, season or year view: the periods published for the station, in order (no gap bands). */
async function periodSection(product, stationId, allDatasets, features, period) {
  const params = { station_id: stationId, period };
  const rows = (await api.getAll(`/features/${product}`, params)).data;
  const section = h("section", { "data-product": product, "data-period": period }, h("h2", {}, product));
  if (!rows.length) {
    section.append(h("p", { class: "muted" }, `No published ${product} ${period}s for this station.`));
    return section;
  }
  const labels = rows.map((r) => r.period);
  const low = rows.filter((r) => r.coverage < api.MIN_COVERAGE).length;
  section.append(
    h("p", {}, `${rows.length} ${period}s (${labels[0]}–${labels.at(-1)}) published for this station; ${low} below ${pct(api.MIN_COVERAGE)} coverage (orange bands, hollow points)`,
      period === "season" ? "; DJF holds the December of the year before. " : ". ",
      "Download these rows: ",
      h("a", { href: api.apiUrl(`/features/${product}`, { ...params, limit: 10000, format: "csv" }), download: `${product}_${stationId}_${period}.csv` }, "CSV")),
    h("div", { class: "charts" }, features.map((f) => seriesChart({
      id: `${product}.${f.name}`, title: f.name, unit: f.unit, labels, minCoverage: api.MIN_COVERAGE,
      points: new Map(rows.map((r) => [r.period, { value: r[f.name], coverage: r.coverage }])),
    }))),
    h("h3", {}, "Latest value and its anomaly"),
    await anomalyTable(product, stationId, allDatasets, features, period),
    h("h3", {}, "Lineage of the values shown"),
    lineage(allDatasets, product, [...new Set(rows.map((r) => r.dataset_version))]),
  );
  return section;
}

/** The period selector: quarter (default), month, meteorological season or year; it changes the route. */
function periodSelector(stationId, period) {
  return h("label", {}, "Period: ",
    h("select", { "data-period-select": "", onchange: (e) => { window.location.hash = `#/station/${stationId}/${e.target.value}`; } },
      api.PERIODS.map((p) => h("option", { value: p, selected: p === period }, p))));
}

async function productSection(product, stationId, allDatasets, features, period = "quarter") {
  if (period !== "quarter") return periodSection(product, stationId, allDatasets, features, period);
  const params = { station_id: stationId };
  const rows = (await api.getAll(`/features/${product}`, params)).data;
  const quarters = await api.publishedQuarters(product);
  const section = h("section", { "data-product": product }, h("h2", {}, product));
  if (!rows.length || !quarters.length) {
    section.append(h("p", { class: "muted" }, `No published ${product} quarters for this station.`));
    return section;
  }
  const last = quarters[0];
  const first = quarters.at(-1);
  const labels = quarterSpan([first.year, first.quarter], [last.year, last.quarter]);
  const byLabel = new Map(rows.map((r) => [`${r.year}Q${r.quarter}`, r]));
  const low = rows.filter((r) => r.coverage < api.MIN_COVERAGE).length;
  section.append(
    h("p", {}, `${rows.length} of ${labels.length} quarters (${labels[0]}–${labels.at(-1)}) published for this station; ${low} below ${pct(api.MIN_COVERAGE)} coverage (orange bands, hollow points); grey bands: no value. `,
      "Download these rows: ",
      h("a", { href: api.apiUrl(`/features/${product}`, { ...params, limit: 10000, format: "csv" }), download: `${product}_${stationId}.csv` }, "CSV"), " · ",
      h("a", { href: api.apiUrl(`/features/${product}`, { ...params, limit: 10000, format: "parquet" }), download: `${product}_${stationId}.parquet` }, "Parquet")),
    h("div", { class: "charts" }, features.map((f) => seriesChart({
      id: `${product}.${f.name}`, title: f.name, unit: f.unit, labels, minCoverage: api.MIN_COVERAGE,
      points: new Map([...byLabel].map(([l, r]) => [l, { value: r[f.name], coverage: r.coverage }])),
    }))),
    h("h3", {}, "Latest value and its anomaly"),
    await anomalyTable(product, stationId, allDatasets, features, "quarter"),
    h("h3", {}, "Lineage of the values shown"),
    lineage(allDatasets, product, [...new Set(rows.map((r) => r.dataset_version))]),
  );
  return section;
}

export async function renderStation(root, stationId, period = "quarter") {
  if (!api.PERIODS.includes(period)) period = "quarter";
  const [station, allDatasets] = await Promise.all([api.getOne(`/stations/${stationId}`), api.datasets()]);
  const sections = await Promise.all(station.products.map(async (p) => productSection(p, stationId, allDatasets, await api.productFeatures(p), period)));
  root.replaceChildren(
    h("h1", {}, `${station.name} (${station.station_id})`),
    h("p", {}, `${station.state ?? "state unknown"} · ${fmt(station.latitude, 4)}° N ${fmt(station.longitude, 4)}° E · ${fmt(station.height_m, 1)} m · `,
      `reporting ${station.valid_from} – ${station.valid_to ?? "today"} · products: ${station.products.join(", ")}`),
    h("h2", {}, "Location history"),
    locations(station),
    periodSelector(stationId, period),
    ...sections,
  );
}
