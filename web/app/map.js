// The web map for district planners: the published layers from the server's MapLibre style, the
// village coverage of a chosen run (and of a second one side by side), its summary, and for
// editors placing a facility in a scenario and running it. Plain JS on MapLibre GL JS (global
// `maplibregl`, served from web/node_modules): no build step, nothing from the internet.

import { formatDate, formatNumber, language, setLanguage, t, term } from "./i18n.js";

const RUN_SOURCE = "run-villages"; // GeoJSON: the villages of the run a map shows
const LATEST_VILLAGES = "coverage_villages"; // the style's tiles of the published run, replaced by RUN_SOURCE
const ALL_RUNS = /_all_runs$/; // sources holding every run: drawn for the map's run only
const GAPS = "coverage_gaps_all_runs"; // village gaps to the targets of every run (filtered by run_id)
// layers of the published run, and the every-run source (with its extra filter) that draws the same
// for the run a map shows instead: in both panes every run layer is the pane's own run
const RUN_TWINS = {
  service_areas: ["service_areas_all_runs", true],
  coverage_gaps: ["coverage_gaps_all_runs", true],
  coverage_districts: ["coverage_all_runs", ["==", ["get", "level"], "district"]],
};
// layers that cannot follow a run and say so (the plan layers' own titles name the published plan)
const NOT_OF_THE_RUN = { facilities: "currentNotRun" };
const MAX_ITEMS = 10000; // the OGC API's page limit, above the villages of any regency
const POLL_MS = 1000;
const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
const EDITOR_ROLES = new Set(["editor", "admin"]);
const RUNGS = ["aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs"];
const REGENCY_ROWS = ["households", "people", "served_households", "served_people", "coverage_pct",
  "aman_pct_now", "aman_pct_projected", "layak_pct_now", "layak_pct_projected"];
const STORED_LANGUAGE = "gis-service-lang";
const STORED_KEY = "gis-service-api-key"; // sessionStorage: the key is gone when the tab closes
const EMPTY = { type: "FeatureCollection", features: [] };
const $ = (id) => document.getElementById(id);

const state = {
  baseStyle: null, // the server's style in the current language
  vocabulary: null, // facility types, units and run methods from the API's OpenAPI document
  runs: [], // newest first
  summaries: [], // of the selected run and the compared one
  visible: {}, // source id -> shown, as the user ticked it (kept across style reloads)
  views: [], // {map, runId, data}: the main map, then the compare map
  key: null,
  user: null,
  scenarios: [],
  edits: [],
  adding: false,
  pending: null, // {lngLat, marker} of the facility being placed
  job: null,
  popup: null, // the open village popup
  noticeClosed: false, // the planner closed the basemap notice: it stays closed
};

class ApiError extends Error {}

// ---- HTTP ------------------------------------------------------------------------------------

async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(t("errorNetwork"));
  }
  if (!response.ok) throw new ApiError(await problem(response));
  return response.status === 204 ? null : response.json();
}

/** The API's refusal in plain words: its `detail.message` (naming `detail.field`), or FastAPI's
 * list of validation errors. */
async function problem(response) {
  if (response.status === 401) return t("error401");
  if (response.status === 403) return t("error403");
  let detail;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = response.statusText;
  }
  if (Array.isArray(detail)) { // loc is ["body", field…]; pydantic prefixes its own checks with "Value error, "
    return detail.map((d) => {
      const [field, message] = [d.loc.slice(1).join("."), d.msg.replace(/^Value error, /, "")];
      return field ? t("errorField", { field, message }) : message;
    }).join(" ");
  }
  if (detail && typeof detail === "object") {
    return detail.field ? t("errorField", { field: detail.field, message: detail.message }) : detail.message;
  }
  return t("errorOther", { status: response.status, message: detail });
}

/** An event handler whose API refusals are shown to the user; anything else is a bug and stays
 * an uncaught error in the console. */
const guarded = (handler) => async (...args) => {
  try {
    await handler(...args);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(error.message, "error");
  }
};

function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

function features(collection, params) {
  const query = new URLSearchParams({ f: "json", limit: MAX_ITEMS, ...params });
  return api(`/ogc/collections/${collection}/items?${query}`);
}

// ---- DOM helper --------------------------------------------------------------------------------

/** h("td", {class: "n"}, "12") - an element with attributes and children (strings become text). */
function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function options(select, items, selected) {
  select.replaceChildren(...items.map(([value, label]) => h("option", { value }, label)));
  if (items.some(([value]) => String(value) === String(selected))) select.value = selected;
}

// ---- style and maps ----------------------------------------------------------------------------

async function loadStyle() {
  state.baseStyle = await api(`/styles/maplibre.json?lang=${language()}`);
}

/** The server's style for one map: the published-run village tiles become the GeoJSON villages of
 * the map's run (same classes and colours: the layers are copied); the other published-run layers
 * give way to their every-run twins filtered to the map's run (shown as they would be); layers that
 * cannot follow a run say so in their name; the user's layer ticks override the default visibility. */
function buildStyle(runId, data) {
  const { center, zoom, ...base } = state.baseStyle; // the camera is the map's, not the style's
  const sourceIds = new Set(base.layers.map((layer) => layer.source));
  const shownByDefault = {}; // every-run source -> shown when its published-run twin is shown by default
  for (const layer of base.layers) {
    const twin = RUN_TWINS[layer.source];
    if (twin && sourceIds.has(twin[0]) && layer.layout?.visibility === "visible") shownByDefault[twin[0]] = true;
  }
  const layers = base.layers.filter((layer) => !(RUN_TWINS[layer.source] && sourceIds.has(RUN_TWINS[layer.source][0])))
    .map((layer) => {
      if (layer.source === LATEST_VILLAGES) {
        const { "source-layer": _, ...copy } = layer;
        return { ...copy, id: `run-${layer.id}`, source: RUN_SOURCE,
          metadata: { ...layer.metadata, group: t("runLayer") } };
      }
      if (ALL_RUNS.test(layer.source)) {
        const twin = Object.values(RUN_TWINS).find(([source]) => source === layer.source);
        const filter = ["all", ["==", ["get", "run_id"], runId ?? -1], twin?.[1] ?? true, layer.filter ?? true];
        const layout = shownByDefault[layer.source] ? { ...layer.layout, visibility: "visible" } : layer.layout;
        return { ...layer, filter, layout,
          metadata: { ...layer.metadata, group: t("selectedRunOnly", { group: layer.metadata.group }) } };
      }
      if (NOT_OF_THE_RUN[layer.source]) {
        return { ...layer, metadata: { ...layer.metadata,
          group: `${layer.metadata.group} (${t(NOT_OF_THE_RUN[layer.source])})` } };
      }
      return layer;
    }).map((layer) => layer.source in state.visible
    ? { ...layer, layout: { ...layer.layout, visibility: state.visible[layer.source] ? "visible" : "none" } }
    : layer);
  const sources = { ...base.sources, [RUN_SOURCE]: { type: "geojson", data } };
  delete sources[LATEST_VILLAGES];
  return { ...base, sources, layers };
}

function createView(container, camera) {
  const map = new maplibregl.Map({
    container, style: buildStyle(null, EMPTY), ...camera,
    transformRequest: withKey, // tiles of a server whose reads are closed need the viewer's key
    canvasContextAttributes: { preserveDrawingBuffer: true }, // the PNG export reads the last frame
    attributionControl: { compact: true }, dragRotate: false, pitchWithRotate: false,
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }));
  const view = { map, runId: null, data: EMPTY };
  map.on("error", mapError);
  map.on("click", guarded((event) => mapClick(view, event)));
  map.on("move", () => follow(view));
  return view;
}

/** MapLibre's requests to this server carry the signed-in key (never sent to the basemap's host). */
function withKey(url) {
  if (!state.key || new URL(url, location.href).origin !== location.origin) return { url };
  return { url, headers: { Authorization: `Bearer ${state.key}` } };
}

/** An unreachable basemap (offline, say) is expected: a small notice instead of an error per
 * tile. Every other map error stays an error. */
function mapError(event) {
  if (state.baseStyle.sources[event.sourceId]?.type === "raster") {
    if ($("notice").hidden && !state.noticeClosed) {
      console.info("basemap unavailable:", event.error?.message);
      $("notice").hidden = false;
    }
    event.target.triggerRepaint(); // a failed tile asks for no new frame, and without one 'idle' never comes
    return;
  }
  console.error(event.error ?? event);
}

let following = false;
/** Side by side maps move together. */
function follow(leader) {
  if (following) return;
  following = true;
  const camera = { center: leader.map.getCenter(), zoom: leader.map.getZoom() };
  for (const view of state.views) if (view !== leader) view.map.jumpTo(camera);
  following = false;
}

function setCompare(on) {
  const [main] = state.views;
  if (on && state.views.length === 1) {
    $("compare-frame").hidden = false;
    main.map.resize();
    state.views.push(createView($("map-compare"), { center: main.map.getCenter(), zoom: main.map.getZoom() }));
  } else if (!on && state.views.length === 2) {
    state.views.pop().map.remove();
    $("compare-frame").hidden = true;
    main.map.resize();
  }
}

async function showRun(view, runId) {
  const container = view.map.getContainer();
  delete container.dataset.runId;
  view.runId = runId;
  const data = runId ? await features("coverage_all_runs", { run_id: runId, level: "village" }) : EMPTY;
  if (view.runId !== runId || !state.views.includes(view)) return; // another run was chosen meanwhile
  view.data = data;
  view.map.setStyle(buildStyle(runId, data));
  // marks the map for tests and scripts: it has drawn this run
  view.map.once("idle", () => { container.dataset.runId = runId ?? ""; });
  view.map.triggerRepaint();
}

function restyleAll() {
  for (const view of state.views) view.map.setStyle(buildStyle(view.runId, view.data));
}

// ---- layer list with legend --------------------------------------------------------------------

/** The style's layers grouped by source (one published layer each), top-most first. */
function layerGroups() {
  const groups = new Map();
  for (const layer of buildStyle(null, EMPTY).layers) {
    if (!layer.metadata?.group) continue;
    if (!groups.has(layer.source)) groups.set(layer.source, { title: layer.metadata.group, layers: [] });
    groups.get(layer.source).layers.push(layer);
  }
  return [...groups.entries()].reverse();
}

/** One legend entry per class label, its swatch drawn from the class's paint. */
function legend(layers) {
  const classes = new Map();
  for (const layer of layers) {
    const label = layer.metadata.label;
    classes.set(label, [...(classes.get(label) ?? []), layer]);
  }
  return [...classes.entries()].map(([label, parts]) => ({ label, swatch: swatch(parts) }));
}

function swatch(parts) {
  const of = (type) => parts.find((layer) => layer.type === type)?.paint;
  const fill = of("fill"), line = of("line"), circle = of("circle");
  if (circle) return { shape: "point", fill: circle["circle-color"], stroke: circle["circle-stroke-color"] };
  if (fill) {
    return { shape: "area", fill: fill["fill-color"], opacity: fill["fill-opacity"] ?? 1,
      stroke: line?.["line-color"] };
  }
  return { shape: "line", fill: line["line-color"] };
}

function swatchElement({ shape, fill, opacity = 1, stroke }) {
  const el = h("span", { class: `swatch ${shape}`, "aria-hidden": "true" });
  el.style.background = `color-mix(in srgb, ${fill} ${Math.round(opacity * 100)}%, transparent)`;
  if (stroke) el.style.borderColor = stroke;
  return el;
}

function renderLayers() {
  $("layers").replaceChildren(...layerGroups().map(([source, group]) => {
    const shown = group.layers.some((layer) => layer.layout?.visibility !== "none");
    const box = h("input", { type: "checkbox", "data-source": source, checked: shown });
    // the legend of a hidden layer is folded away: the list stays short enough to read
    const classes = h("ul", { class: "legend", hidden: !shown },
      legend(group.layers).map(({ label, swatch: s }) => h("li", {}, swatchElement(s), label)));
    box.addEventListener("change", () => {
      classes.hidden = !box.checked;
      setVisible(source, box.checked);
    });
    return h("div", { class: "layer" }, h("label", { class: "layer-title" }, box, " ", group.title), classes);
  }));
}

function setVisible(source, shown) {
  state.visible[source] = shown;
  const ids = buildStyle(null, EMPTY).layers.filter((layer) => layer.source === source).map((layer) => layer.id);
  for (const { map } of state.views) {
    for (const id of ids) map.setLayoutProperty(id, "visibility", shown ? "visible" : "none");
  }
}

// ---- runs and summary --------------------------------------------------------------------------

function runLabel(run) {
  const label = t("runOption", { id: run.id, scenario: run.scenario_name, date: formatDate(run.started_at),
    method: term("method", run.method) });
  const marks = [run.id === publishedRun()?.id ? t("published") : null, run.illustrative ? t("illustrative") : null]
    .filter(Boolean);
  return marks.length ? `${label} (${marks.join(", ")})` : label;
}

/** The run the default layers show: the one published last (none: the newest run is shown first). */
function publishedRun() {
  return state.runs.filter((run) => run.published_at)
    .sort((a, b) => b.published_at.localeCompare(a.published_at) || b.id - a.id)[0] ?? null;
}

async function loadRuns() {
  state.runs = await api("/api/runs");
  renderRunSelects();
}

function renderRunSelects() {
  const runs = state.runs.map((run) => [run.id, runLabel(run)]);
  options($("run-select"), runs, $("run-select").value || (publishedRun() ?? state.runs[0])?.id);
  options($("compare-select"), [["", t("noCompare")], ...runs], $("compare-select").value);
}

const selectedRun = () => Number($("run-select").value) || null;
const comparedRun = () => Number($("compare-select").value) || null;

async function selectRuns() {
  const [a, b] = [selectedRun(), comparedRun()];
  setCompare(b !== null);
  const [summaries] = await Promise.all([
    Promise.all([a, b].filter(Boolean).map((id) => api(`/api/runs/${id}/summary`))),
    showRun(state.views[0], a), b && showRun(state.views[1], b)]);
  if (a !== selectedRun() || b !== comparedRun()) return; // chosen again meanwhile
  state.summaries = summaries;
  renderSummary();
  renderCaptions();
}

function renderCaptions() {
  const name = (id) => runLabel(state.runs.find((run) => run.id === id));
  const [a, b] = [selectedRun(), comparedRun()];
  const captions = { "map-caption": a ? (b ? `A · ${name(a)}` : name(a)) : "",
    "map-compare-caption": b ? `B · ${name(b)}` : "" };
  for (const [id, text] of Object.entries(captions)) {
    $(id).textContent = text;
    $(id).title = text; // the caption may be cut short on a narrow map
  }
}

const isPercent = (key) => key.includes("_pct");

function show(value, percent = false) {
  return percent && value !== null && value !== undefined ? `${formatNumber(value, 1)} %` : formatNumber(value);
}

/** A difference: of shares in percentage points ("poin"/"pp"), of counts as a count. */
function signed(value, percent) {
  const text = percent ? `${formatNumber(Math.abs(value), 1)} ${t("points")}` : show(Math.abs(value));
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

/** A table cell carrying its raw number (data-value) for scripts and tests, shown formatted. */
function cell(value, { percent = false, testid } = {}) {
  return h("td", { class: "n", "data-testid": testid, "data-value": value ?? "" }, show(value, percent));
}

function table(caption, head, rows) {
  return h("div", { class: "table-scroll" }, h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((text, i) => h("th", { scope: "col", class: i ? "n" : null }, text)))),
    h("tbody", {}, rows)));
}

function renderSummary() {
  const box = $("summary");
  const [a, b] = state.summaries;
  if (!a) {
    box.replaceChildren(h("p", {}, t("noRuns")));
    return;
  }
  const pct = { percent: true };
  const runHead = (s, letter) => (b ? `${letter} · #${s.run.id}` : `#${s.run.id}`);

  const regencyRows = REGENCY_ROWS.map((key) => {
    const percent = isPercent(key);
    const [va, vb] = [a.regency[key], b?.regency[key]];
    const diff = va === null || vb === null ? null : va - vb; // a share of no households is none
    return h("tr", {}, h("th", { scope: "row" }, t(key)),
      cell(va, { percent, testid: `regency-${key}-a` }),
      b && cell(vb, { percent, testid: `regency-${key}-b` }),
      b && h("td", { class: "n", "data-testid": `regency-${key}-diff`, "data-value": diff ?? "" },
        diff === null ? "–" : signed(diff, percent)));
  });

  // the rungs of the ladder in order, then any other the run counted (e.g. unknown)
  const rungs = [...new Set([...RUNGS, ...Object.keys(a.regency.ladder)])];
  const ladderRows = rungs.map((rung) => h("tr", {}, h("th", { scope: "row" }, term("rung", rung)),
    cell(a.regency.ladder[rung] ?? 0), cell(a.regency.ladder_projected[rung] ?? 0),
    b && cell(b.regency.ladder_projected[rung] ?? 0)));

  const gapOf = (s, g) => s.gaps.find((x) => x.indicator === g.indicator && x.year === g.year);
  const gapRows = a.gaps.map((g) => h("tr", {},
    h("th", { scope: "row" }, `${term("indicator", g.indicator)} ${g.year}`),
    cell(g.target_pct, pct), cell(g.current_pct, pct), cell(g.projected_pct, pct), cell(g.gap_households),
    b && cell(gapOf(b, g)?.gap_households)));

  const districtRows = a.districts.map((d) => {
    const other = b?.districts.find((x) => x.code === d.code);
    return h("tr", {}, h("th", { scope: "row" }, d.name), cell(d.households),
      cell(d.served_households), cell(d.coverage_pct, pct),
      b && cell(other?.served_households), b && cell(other?.coverage_pct, pct));
  });

  const run = a.run.id;
  const withB = (...heads) => (b ? heads.map((head) => `${head} B`) : []);
  box.replaceChildren(...[
    table(`${t("regency")}: ${a.regency.name}`, ["", runHead(a, "A"), ...(b ? [runHead(b, "B"), t("difference")] : [])],
      regencyRows),
    table(t("ladderTitle"), ["", t("now"), b ? `${t("projected")} A` : t("projected"), ...withB(t("projected"))],
      ladderRows),
    gapRows.length > 0 && table(t("gapsTitle"),
      ["", t("target"), t("now"), t("projected"), t("gapHouseholds"), ...withB(t("gapHouseholds"))], gapRows),
    table(t("districts"),
      [t("district"), t("households"), t("served"), t("coverage"), ...withB(t("served"), t("coverage"))],
      districtRows),
    h("p", { class: "downloads" },
      h("a", { href: `/api/runs/${run}/villages?f=csv`, download: "" }, t("downloadCsv")), " · ",
      h("a", { href: `/api/runs/${run}/export.gpkg`, download: "" }, t("downloadGpkg"))),
  ].filter(Boolean));
}

// ---- village popup -----------------------------------------------------------------------------

async function mapClick(view, event) {
  if (state.adding) {
    placeFacility(event.lngLat);
    return;
  }
  const layers = view.map.getLayersOrder().filter((id) => {
    const layer = view.map.getLayer(id);
    return layer.source === RUN_SOURCE && layer.type === "fill";
  });
  const [village] = view.map.queryRenderedFeatures(event.point, { layers });
  if (!village) return;
  state.popup?.remove();
  const popup = state.popup = new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(event.lngLat)
    .setDOMContent(villageCard(village.properties, h("p", {}, t("loading")))).addTo(view.map);
  const gaps = await villageGaps(view.runId, village.properties.area_code);
  popup.setDOMContent(villageCard(village.properties, gapList(gaps)));
}

/** The village's gaps to the targets of the run, by target year (the nearest first). */
async function villageGaps(runId, areaCode) {
  const found = await features(GAPS, { run_id: runId, area_code: areaCode });
  return found.features.map((f) => f.properties).filter((g) => g.gap_households > 0)
    .sort((x, y) => x.year - y.year || x.indicator.localeCompare(y.indicator));
}

function gapList(gaps) {
  if (!gaps.length) return h("p", {}, t("noGap"));
  return h("ul", { "data-testid": "popup-gaps" }, gaps.map((g) => h("li", {},
    `${term("indicator", g.indicator)} ${g.year}: ${t("target")} ${show(g.target_pct, true)}, `
    + `${t("projected").toLowerCase()} ${show(g.projected_pct, true)} → ${formatNumber(g.gap_households)} `
    + term("unit", "households"))));
}

function villageCard(p, gaps) {
  const ladder = ["aman", "layak", "babs"].map((rung) => h("tr", {}, h("th", { scope: "row" }, term("rung", rung)),
    cell(p[`${rung}_now`]), cell(p[`${rung}_projected`])));
  return h("div", { class: "village", "data-testid": "village-popup" },
    h("h3", {}, p.name),
    h("dl", {},
      h("dt", {}, t("households")), h("dd", { "data-testid": "popup-households" }, formatNumber(p.households)),
      h("dt", {}, t("served")), h("dd", { "data-testid": "popup-served" }, formatNumber(p.served_households)),
      h("dt", {}, t("coverage")), h("dd", { "data-testid": "popup-coverage" }, show(p.coverage_pct, true))),
    table(t("ladderNowProjected"), ["", t("now"), t("projected")], ladder),
    h("h4", {}, t("gapToTarget")),
    gaps);
}

// ---- PNG export --------------------------------------------------------------------------------

/** The maps as drawn (side by side when comparing) under a title, with the run layer's legend. */
function exportPng() {
  const canvases = state.views.map((view) => view.map.getCanvas());
  const ratio = canvases[0].width / canvases[0].clientWidth; // canvas pixels per CSS pixel
  const px = (n) => Math.round(n * ratio);
  const title = px(56);
  const out = h("canvas");
  out.width = canvases.reduce((sum, c) => sum + c.width, 0);
  out.height = title + Math.max(...canvases.map((c) => c.height));
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#111111";
  fitText(ctx, t("title"), "bold", 18, px, out.width, px(22));
  fitText(ctx, [$("map-caption").textContent, $("map-compare-caption").textContent].filter(Boolean).join("  |  "),
    "", 14, px, out.width, px(44));
  let x = 0;
  for (const canvas of canvases) {
    ctx.drawImage(canvas, x, title);
    x += canvas.width;
  }
  const [, run] = layerGroups().find(([source]) => source === RUN_SOURCE) ?? [];
  if (run) {
    const entries = legend(run.layers);
    const row = px(20);
    ctx.font = `${px(13)}px sans-serif`;
    const width = px(24) + Math.max(...entries.map((e) => ctx.measureText(e.label).width));
    const top = out.height - px(10) - row * entries.length - px(8);
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(px(10), top, width + px(16), row * entries.length + px(8));
    entries.forEach(({ label, swatch: s }, i) => {
      const y = top + px(4) + i * row;
      ctx.fillStyle = s.fill;
      ctx.fillRect(px(16), y + px(3), px(14), px(14));
      ctx.fillStyle = "#111111";
      ctx.fillText(label, px(36), y + px(15));
    });
  }
  h("a", { href: out.toDataURL("image/png"), download: `peta-sanitasi-run-${selectedRun() ?? "none"}.png` }).click();
}

/** Write one line at (12, y), its font made smaller until the line fits the width. */
function fitText(ctx, line, weight, size, px, width, y) {
  let points = size;
  ctx.font = `${weight} ${px(points)}px sans-serif`;
  while (ctx.measureText(line).width > width - px(24) && points > 8) {
    points -= 1;
    ctx.font = `${weight} ${px(points)}px sans-serif`;
  }
  ctx.fillText(line, px(12), y);
}

// ---- editing -----------------------------------------------------------------------------------

const canEdit = () => EDITOR_ROLES.has(state.user?.role);

async function signIn(key) {
  state.key = key;
  try {
    state.user = await api("/api/me");
  } catch (error) {
    state.key = state.user = null;
    sessionStorage.removeItem(STORED_KEY);
    renderUser();
    throw error;
  }
  sessionStorage.setItem(STORED_KEY, key);
  if ($("message").dataset.kind === "error") say(""); // an earlier refusal no longer holds
  renderUser();
  if (canEdit()) await loadScenarios();
}

function renderUser() {
  const user = state.user;
  $("user").textContent = !user ? t("signedOut")
    : `${t("signedIn", { name: user.name, role: term("role", user.role) })}${canEdit() ? "" : ` ${t("viewerOnly")}`}`;
  $("edit-tools").disabled = !canEdit();
  renderEdits();
}

async function loadScenarios() {
  state.scenarios = await api("/api/scenarios");
  renderScenarios();
}

function renderScenarios() {
  options($("scenario-select"), [["", t("noScenario")],
    ...state.scenarios.map((s) => [s.id, t("scenarioOption", { name: s.name, count: s.facility_ids.length })])],
  $("scenario-select").value);
}

const chosenScenario = () => state.scenarios.find((s) => String(s.id) === $("scenario-select").value);

function renderVocabulary() {
  const { types, units, methods } = state.vocabulary;
  options($("facility-type"), types.map((code) => [code, term("type", code)]), $("facility-type").value);
  options($("facility-unit"), [["", t("noUnit")], ...units.map((code) => [code, term("unit", code)])],
    $("facility-unit").value);
  options($("method-select"), methods.map((code) => [code, term("method", code)]),
    $("method-select").value || state.vocabulary.method);
  showDistance();
}

/** The radius is asked for only where it is used: the buffer method. */
function showDistance() {
  $("distance-field").hidden = $("method-select").value !== "buffer";
}

function setAdding(on) {
  state.adding = on;
  state.popup?.remove(); // it would cover the place clicked
  $("add-facility").setAttribute("aria-pressed", String(on));
  $("add-hint").hidden = !on;
  for (const { map } of state.views) map.getCanvas().style.cursor = on ? "crosshair" : "";
  if (!on) {
    state.pending?.marker.remove();
    state.pending = null;
    $("facility-form").hidden = true;
  }
}

function placeFacility(lngLat) {
  state.pending?.marker.remove();
  const marker = new maplibregl.Marker({ color: "#7b3294" }).setLngLat(lngLat).addTo(state.views[0].map);
  state.pending = { lngLat, marker };
  $("facility-where").textContent = t("facilityAt", { lon: lngLat.lng.toFixed(5), lat: lngLat.lat.toFixed(5) });
  $("facility-form").hidden = false;
  $("facility-name").focus();
}

async function saveFacility(event) {
  event.preventDefault();
  const { lng, lat } = state.pending.lngLat;
  const capacity = $("facility-capacity").value;
  const body = { name: $("facility-name").value.trim(), type: $("facility-type").value, lon: lng, lat };
  if (capacity !== "" || $("facility-unit").value) {
    // sent together (or the API names what is missing)
    Object.assign(body, { capacity: capacity === "" ? null : Number(capacity),
      capacity_unit: $("facility-unit").value || null });
  }
  const scenario = chosenScenario();
  // placed and added to the scenario in one transaction: a refusal leaves neither
  const facility = await api(scenario ? `/api/facilities?scenario_id=${scenario.id}` : "/api/facilities",
    { method: "POST", body });
  setAdding(false);
  $("facility-form").reset();
  refreshFacilities();
  await Promise.all([loadEdits(), loadScenarios()]);
  say(scenario ? t("facilityAdded", { name: facility.name, scenario: scenario.name })
    : t("facilityAddedNoScenario", { name: facility.name }));
}

/** Reload the facility tiles so that an added or undone facility shows at once. */
function refreshFacilities() {
  for (const { map } of state.views) map.getSource("facilities")?.setTiles(state.baseStyle.sources.facilities.tiles);
}

async function runScenario() {
  const scenario = chosenScenario();
  if (!scenario) {
    say(t("chooseScenario"), "error");
    return;
  }
  const method = $("method-select").value;
  const jobOptions = method === "buffer" ? { method, distance_m: Number($("distance-m").value) } : { method };
  state.job = await api("/api/jobs",
    { method: "POST", body: { kind: "coverage", scenario: scenario.name, options: jobOptions } });
  while (!FINISHED.has(state.job.status)) {
    renderJob();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    state.job = await api(`/api/jobs/${state.job.id}`);
  }
  if (state.job.status === "succeeded") {
    await loadRuns();
    $("run-select").value = state.job.result.run_id;
    await selectRuns();
  }
  renderJob(); // the end is shown once the new run is
}

function renderJob() {
  const job = state.job;
  if (!job) return;
  const running = !FINISHED.has(job.status);
  $("job-progress").hidden = false;
  $("job-progress").value = job.progress;
  $("job-cancel").hidden = !running;
  $("run-scenario").disabled = running;
  $("job-status").dataset.status = job.status;
  $("job-status").textContent = jobLine(job);
}

function jobLine(job) {
  if (job.status === "succeeded") return t("jobDone", { run: job.result.run_id });
  if (job.status === "failed") return t("jobFailed", { error: job.error });
  return t(job.status === "running" && job.step ? "jobLine" : "jobWaiting",
    { status: term("status", job.status), step: term("step", job.step), pct: Math.round(100 * job.progress) });
}

async function cancelJob() {
  state.job = await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" });
  renderJob();
}

async function loadEdits() {
  state.edits = await api("/api/edits?limit=8");
  renderEdits();
}

function renderEdits() {
  const items = state.edits.map((edit) => {
    const facility = edit.after ?? edit.before;
    const line = t("editLine", { at: formatDate(edit.at), user: edit.user_name, action: term("action", edit.action),
      name: facility?.name ?? `#${edit.facility_id}` });
    const undo = canEdit() && edit.action !== "undo" && edit.undone_by === null
      && h("button", { type: "button", class: "small", "data-edit": edit.id }, t("undo"));
    if (undo) undo.addEventListener("click", guarded(() => undoEdit(edit.id)));
    return h("li", {}, line, " ", undo);
  });
  $("edits").replaceChildren(...(items.length ? items : [h("li", {}, t("noEdits"))]));
}

/** Undo an edit and say what was undone: the action and the facility's name. */
async function undoEdit(id) {
  const edit = state.edits.find((e) => e.id === id);
  const facility = edit?.after ?? edit?.before;
  await api(`/api/edits/${id}/undo`, { method: "POST" });
  refreshFacilities();
  await Promise.all([loadEdits(), loadScenarios()]);
  say(t("undone", { id, action: term("action", edit?.action), name: facility?.name ?? `#${edit?.facility_id}` }));
}

// ---- language ----------------------------------------------------------------------------------

async function switchLanguage(lang) {
  localStorage.setItem(STORED_LANGUAGE, setLanguage(lang));
  state.popup?.remove();
  await loadStyle();
  restyleAll();
  renderLayers();
  renderRunSelects();
  renderCaptions();
  renderSummary();
  renderUser();
  renderScenarios();
  renderVocabulary();
  renderJob();
  say("");
}

// ---- start -------------------------------------------------------------------------------------

/** Facility types, capacity units and run methods with the run defaults, from the API's own
 * description, so that the map offers exactly what the API accepts. */
async function vocabulary() {
  const { components: { schemas } } = await api("/openapi.json");
  const { method, distance_m: distance } = schemas.CoverageJobOptions.properties;
  return { types: schemas.FacilityType.enum, units: schemas.CapacityUnit.enum, methods: method.enum,
    method: method.default, distance: distance.default };
}

/** The runs, the chosen run's maps and summary, and the edit log: what needs a key when the
 * server's reads are not public. */
async function loadResults() {
  await loadRuns();
  await Promise.all([selectRuns(), loadEdits()]);
}

async function start() {
  $("lang").value = setLanguage(localStorage.getItem(STORED_LANGUAGE) ?? "id");
  const [config] = await Promise.all([api("/api/config"), loadStyle(),
    vocabulary().then((v) => { state.vocabulary = v; })]);
  const [w, s, e, n] = config.region.bbox;
  state.views.push(createView($("map"), { bounds: [[w, s], [e, n]], fitBoundsOptions: { padding: 16 } }));
  // for the browser console and the end-to-end test
  window.webMap = { get main() { return state.views[0].map; }, get compare() { return state.views[1]?.map; } };
  renderLayers();
  renderVocabulary();
  $("distance-m").value = state.vocabulary.distance;
  renderUser();

  $("lang").addEventListener("change", guarded(() => switchLanguage($("lang").value)));
  $("run-select").addEventListener("change", guarded(selectRuns));
  $("compare-select").addEventListener("change", guarded(selectRuns));
  $("export-png").addEventListener("click", exportPng);
  $("notice-close").addEventListener("click", () => { state.noticeClosed = true; $("notice").hidden = true; });
  $("key-form").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    await signIn($("api-key").value.trim());
    await loadResults(); // what the key may read (all of it when reads are not public)
  }));
  $("add-facility").addEventListener("click", () => setAdding(!state.adding));
  $("facility-cancel").addEventListener("click", () => setAdding(false));
  $("facility-form").addEventListener("submit", guarded(saveFacility));
  $("method-select").addEventListener("change", showDistance);
  $("run-scenario").addEventListener("click", guarded(runScenario));
  $("job-cancel").addEventListener("click", guarded(cancelJob));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (state.adding) setAdding(false);
    else state.popup?.remove();
  });

  const key = sessionStorage.getItem(STORED_KEY); // signed in earlier in this tab
  if (key) await guarded(signIn)(key);
  if (config.public_read || state.user) await loadResults();
  else say(t("keyNeeded"));
}

start().catch((error) => {
  say(error.message, "error");
  if (!(error instanceof ApiError)) throw error;
});
