// The village popup: households, served, the access ladder and the gaps to the targets.
import { formatNumber, t, term } from "./i18n.js";
import { GAPS, RUN_SOURCE, state } from "./state.js";
import { features } from "./http.js";
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
  const popup = state.popup = new maplibregl.Popup({ maxWidth: "min(420px, 90vw)", className: "village-popup" })
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
