// Reads the /v1 API: the explorer's only data path. Responses go through the browser's HTTP cache, so the
// API's ETags and Cache-Control apply unchanged; pages are followed through `next`.
const PREFIX = document.querySelector('meta[name="wi-api-prefix"]').content;
export const MIN_COVERAGE = Number(document.querySelector('meta[name="wi-min-coverage"]').content);
const memo = new Map();

export function apiUrl(path, params = {}) {
  const url = new URL(PREFIX + path, window.location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  return url.pathname + url.search;
}

export class ApiError extends Error {}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(`${url}: ${response.status} ${body?.message ?? response.statusText}`);
  return body;
}

/** Every row of a paged list: follows `next` until the last page. */
export async function getAll(path, params = {}) {
  let body = await getJson(apiUrl(path, { limit: 10000, ...params }));
  const first = body;
  const data = [...body.data];
  while (body.next) {
    const next = new URL(body.next);
    body = await getJson(next.pathname + next.search);
    data.push(...body.data);
  }
  return { ...first, data };
}

export function getOne(path, params = {}) {
  return getJson(apiUrl(path, params));
}

/** Lists that every page needs (catalog, stations, datasets) are read once per page load. */
export function shared(key, load) {
  if (!memo.has(key)) memo.set(key, load().catch((e) => { memo.delete(key); throw e; }));
  return memo.get(key);
}

export const catalog = () => shared("catalog", () => getOne("/catalog").then((b) => b.data));
export const stations = () => shared("stations", () => getAll("/stations").then((b) => b.data));
export const datasets = () => shared("datasets", () => getAll("/datasets").then((b) => b.data));

/** Numeric features of a product, in catalog order (the columns the charts and the map can show). */
export async function productFeatures(product) {
  return (await catalog()).filter((f) => f.product === product && f.sql_type !== "str");
}

export async function products() {
  return [...new Set((await catalog()).map((f) => f.product))];
}

/** The base years of the climate normals the station page compares with (the API's default normals_base). */
export const NORMALS_BASE = "1991-2020";

/** The periods a station page can show (the API's period=): quarter first, the default. */
export const PERIODS = ["quarter", "month", "season", "year"];

/** Published (AVAILABLE) curated quarters of a product, newest first, as {year, quarter, label, version}. */
export async function publishedQuarters(product) {
  return (await datasets())
    .filter((d) => d.kind === "curated" && d.status === "AVAILABLE" && d.product === product && (d.period_kind ?? "quarter") === "quarter")
    .map((d) => ({ year: d.year, quarter: d.quarter, label: d.quarter_label, version: d.version_name }))
    .sort((a, b) => b.year - a.year || b.quarter - a.quarter);
}
