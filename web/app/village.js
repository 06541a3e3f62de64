// The village popup: households, served, the access ladder and the gaps to the targets.
import { formatNumber, t, term } from "./i18n.js";
import { $, GAPS, RUN_SOURCE, state } from "./state.js";
import { features, say } from "./http.js";
import { h } from "./dom.js";
import { cell, show, table } from "./dom.js";
import { placeFacility } from "./editing.js";

// ---- village popup -----------------------------------------------------------------------------

export async function mapClick(view, event) {
  if (state.adding) {
    placeFacility(event.lngLat);
    return;
  }
  const layers = view.map.getLayersOrder().filter((id) => {
    const layer = view.map.getLayer(id);
    return layer.source === RUN_SOURCE && layer.type === "fill";
  });
  const [village] = view.map.queryRenderedFeatures(event.point, { layers });
  if (village) await openVillage(view, village.properties.area_code, event.lngLat);
}

/** The village of a view's run as its map holds it (GeoJSON properties), or undefined. */
function villageOf(view, code) {
  return view?.data.features.find((f) => f.properties.area_code === code)?.properties;
}

/** The popup of a village at `lngLat` on `view`'s map: its numbers in the run of every map
 * shown (A and B side by side when comparing) and its gaps to the targets in the view's run. */
export async function openVillage(view, code, lngLat) {
  const shown = state.views.filter((v) => v.runId && villageOf(v, code));
  if (!shown.length) return;
  state.popup?.remove();
  const popup = state.popup = new maplibregl.Popup({ maxWidth: "none", className: "village-popup" })
    .setLngLat(lngLat).setDOMContent(villageCard(shown, code, h("p", {}, t("loading")))).addTo(view.map);
  const gaps = await villageGaps(view.runId, code);
  if (state.popup === popup) popup.setDOMContent(villageCard(shown, code, gapList(gaps)));
}

/** The village's gaps to the targets of the run, by target year (the nearest first). */
export async function villageGaps(runId, areaCode) {
  const found = await features(GAPS, { run_id: runId, area_code: areaCode });
  return found.features.map((f) => f.properties).filter((g) => g.gap_households > 0)
    .sort((x, y) => x.year - y.year || x.indicator.localeCompare(y.indicator));
}

export function gapList(gaps) {
  if (!gaps.length) return h("p", {}, t("noGap"));
  return h("ul", { "data-testid": "popup-gaps" }, gaps.map((g) => h("li", {},
    `${term("indicator", g.indicator)} ${g.year}: ${t("target")} ${show(g.target_pct, true)}, `
    + `${t("projected").toLowerCase()} ${show(g.projected_pct, true)} → ${formatNumber(g.gap_households)} `
    + term("unit", "households"))));
}

// the rows of the popup's ladder: disjoint, so they add up to the households
const LADDER = ["aman", "layak_only", "belum_layak", "babs", "unknown"];

/** The card of one village in the runs of `views` (one column per run). */
export function villageCard(views, code, gaps) {
  const runs = views.map((v) => ({ run: v.runId, p: villageOf(v, code) }));
  const [first] = runs;
  const many = runs.length > 1;
  const head = ["", ...runs.map(({ run }) => (many ? t("popupRun", { run }) : ""))];
  const row = (label, key, percent = false) => h("tr", {}, h("th", { scope: "row" }, label),
    runs.map(({ p, run }) => cell(p[key], { percent, testid: `popup-${key}-${run}` })));
  const ladder = LADDER.filter((rung) => runs.some(({ p }) => p[`${rung}_now`] || p[`${rung}_projected`]) || rung !== "unknown")
    .map((rung) => h("tr", { "data-testid": `popup-rung-${rung}` }, h("th", { scope: "row" }, term("rung", rung)),
      cell(first.p[`${rung}_now`] ?? 0), runs.map(({ p }) => cell(p[`${rung}_projected`] ?? 0))));
  const total = h("tr", { class: "total" }, h("th", { scope: "row" }, t("total")),
    cell(first.p.households, { testid: "popup-ladder-total" }), runs.map(({ p }) => cell(p.households)));
  const projectedHead = runs.map(({ run }) => (many ? `${t("projected")} #${run}` : t("projected")));
  return h("div", { class: "village", "data-testid": "village-popup" },
    h("h3", {}, first.p.name),
    table("", head, [row(t("households"), "households"), row(t("served_households"), "served_households"),
      row(t("coverage_pct"), "coverage_pct", true)]),
    table(t("ladderNowProjected"), ["", t("now"), ...projectedHead], [...ladder, total]),
    h("h4", {}, t("gapToTarget"), many ? ` (${t("popupRun", { run: first.run })})` : ""),
    gaps);
}

// ---- village list with search ------------------------------------------------------------------

const villageOption = (p) => `${p.name} (${p.area_code})`;

/** Every village of the main map's run, for the search box (the browser filters as one types). */
export function renderVillageList() {
  const villages = (state.views[0]?.data.features ?? []).map((f) => f.properties)
    .sort((a, b) => a.name.localeCompare(b.name) || a.area_code.localeCompare(b.area_code));
  $("village-list").replaceChildren(...villages.map((p) => h("option", { value: villageOption(p) })));
}

/** The village typed or chosen in the search box: the map goes there and opens its popup, as a
 * click on it would. A name without its code finds the village when only one has that name. */
export async function findVillage() {
  const [view] = state.views;
  const typed = $("village-search").value.trim().toLowerCase();
  if (!typed) return;
  const matches = view.data.features.filter((f) => villageOption(f.properties).toLowerCase() === typed
    || f.properties.name.toLowerCase() === typed);
  if (matches.length !== 1) {
    say(t(matches.length ? "villageAmbiguous" : "villageNotFound", { name: $("village-search").value }), "error");
    return;
  }
  const [village] = matches;
  const [w, s, e, n] = bounds(village.geometry);
  view.map.fitBounds([[w, s], [e, n]], { padding: 40, maxZoom: 13, animate: false });
  await openVillage(view, village.properties.area_code, { lng: (w + e) / 2, lat: (s + n) / 2 });
}

function bounds(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(visit);
  };
  visit(geometry.coordinates);
  return box;
}
