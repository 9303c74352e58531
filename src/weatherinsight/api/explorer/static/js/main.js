// The explorer's router: #/map, #/station/<id>[/<period>], #/quarter/<product>/<year>/<quarter>, #/datasets.
// When a page has drawn, <body data-rendered="<page>" data-render-ms="…" data-drawn-at="…"> tells tests and the
// benchmark (render-ms: route start to drawn; drawn-at: navigation start to the first frame after it).
import { renderDatasets } from "./datasets.js";
import { renderMap } from "./map.js";
import { renderQuarter } from "./quarter.js";
import { renderStation } from "./station.js";
import { errorBox } from "./ui.js";

const root = document.getElementById("view");

async function route() {
  const started = performance.now();
  const [page = "map", ...args] = window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  document.body.removeAttribute("data-rendered");
  document.querySelectorAll("nav a[data-nav]").forEach((a) => { if (a.dataset.nav === page) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current"); });
  try {
    if (page === "station" && /^\d+$/.test(args[0] ?? "")) await renderStation(root, Number(args[0]), args[1]);
    else if (page === "quarter") await renderQuarter(root, args[0], args[1], args[2]);
    else if (page === "datasets") await renderDatasets(root);
    else await renderMap(root);
    document.title = `${root.querySelector("h1")?.textContent ?? "Explorer"} · WeatherInsight`;
  } catch (error) {
    root.replaceChildren(errorBox(error));
  }
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  // The next frame has laid out and painted what was drawn: drawnAt counts from navigation start.
  requestAnimationFrame(() => setTimeout(() => {
    document.body.dataset.drawnAt = String(Math.round(performance.now()));
    document.body.dataset.rendered = page;
  }, 0));
}

window.addEventListener("hashchange", route);
route();
