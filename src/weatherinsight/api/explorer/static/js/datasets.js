// The datasets page: every dataset version (raw, staged, curated), newest first, with status and lineage.
import * as api from "./api.js";
import { badge, h, select } from "./ui.js";

const view = { kind: "", status: "" };

export async function renderDatasets(root) {
  const all = [...(await api.datasets())].sort((a, b) => b.id - a.id);
  const shown = all.filter((d) => (!view.kind || d.kind === view.kind) && (!view.status || d.status === view.status));
  const rerender = (key) => (value) => { view[key] = value; renderDatasets(root); };
  root.replaceChildren(
    h("h1", {}, "Dataset versions"),
    h("div", { class: "controls" },
      select("Kind", "kind", [["", "all kinds"], ["raw", "raw"], ["staged", "staged"], ["curated", "curated"]], view.kind, rerender("kind")),
      select("Status", "status", [["", "all"], ...["AVAILABLE", "SUPERSEDED", "PENDING", "FAILED"].map((s) => [s, s])], view.status, rerender("status"))),
    h("p", {}, `${shown.length} of ${all.length} versions, newest first.`),
    h("div", { class: "scroll" }, h("table", { "data-table": "datasets" },
      h("thead", {}, h("tr", {}, ["version", "kind", "product", "quarter", "status", "rows", "built from", "created"].map((c) => h("th", {}, c)))),
      h("tbody", {}, shown.map((d) => h("tr", { "data-version": d.version_name, "data-kind": d.kind, "data-product": d.product },
        h("td", {}, d.version_name), h("td", {}, d.kind), h("td", {}, d.product),
        h("td", {}, d.kind === "curated" && d.status === "AVAILABLE"
          ? h("a", { href: `#/quarter/${d.product}/${d.year}/${d.quarter}` }, d.quarter_label) : d.quarter_label),
        h("td", {}, badge(d.status)), h("td", { class: "num" }, d.row_count ?? "—"),
        h("td", { class: "lineage" }, (d.parent_versions ?? []).join(", ") || "—"),
        h("td", {}, d.created_at.slice(0, 19).replace("T", " ")), d.error ? h("td", { class: "error" }, d.error) : null))))));
}
