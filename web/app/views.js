// The maps: the server's style made to show each map's own run, the main and compare views that
// move together, and what a map draws for a run.
import { halfUp, language, t } from "./i18n.js";
import { $, ALL_RUNS, CHANGE_SOURCE, EMPTY, LATEST_VILLAGES, NOT_OF_THE_RUN, RUN_SOURCE, RUN_TWINS, state } from "./state.js";
import { api, features, guarded } from "./http.js";
import { mapClick } from "./village.js";

// ---- style and maps ----------------------------------------------------------------------------

export async function loadStyle() {
  state.baseStyle = await api(`/styles/maplibre.json?lang=${language()}`);
}

/** The server's style for one map: the published-run village tiles become the GeoJSON villages of
 * the map's run (same classes and colours: the layers are copied); the other published-run layers
 * give way to their every-run twins filtered to the map's run (shown as they would be); layers that
 * cannot follow a run say so in their name; the user's layer ticks override the default visibility. */
export function buildStyle(runId, data, change = null) {
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
  if (change) {
    sources[CHANGE_SOURCE] = { type: "geojson", data: change };
    const above = layers.findLastIndex((layer) => layer.source === RUN_SOURCE) + 1;
    const shown = state.visible[CHANGE_SOURCE] ? "visible" : "none";
    layers.splice(above, 0, ...changeLayers().map((layer) => ({ ...layer, layout: { visibility: shown } })));
  }
  return { ...base, sources, layers };
}

// ---- the change map: A − B per village ----------------------------------------------------------

// classes of the difference in the share of households served, in percentage points (A − B)
const CHANGE_CLASSES = [
  ["changeMuchWorse", "#b2182b", ["<", ["get", "change_pp"], -5]],
  ["changeWorse", "#ef8a62", ["all", [">=", ["get", "change_pp"], -5], ["<", ["get", "change_pp"], 0]]],
  ["changeNone", "#f7f7f7", ["==", ["get", "change_pp"], 0]],
  ["changeBetter", "#67a9cf", ["all", [">", ["get", "change_pp"], 0], ["<=", ["get", "change_pp"], 5]]],
  ["changeMuchBetter", "#2166ac", [">", ["get", "change_pp"], 5]],
];

function changeLayers() {
  return CHANGE_CLASSES.flatMap(([label, color, filter], i) => {
    const metadata = { group: t("changeLayer"), label: t(label) };
    return [
      { id: `run-change-${i}`, type: "fill", source: CHANGE_SOURCE, filter, metadata,
        paint: { "fill-color": color, "fill-opacity": 0.85 } },
      { id: `run-change-${i}-outline`, type: "line", source: CHANGE_SOURCE, filter, metadata,
        paint: { "line-color": "#636363", "line-width": 0.4 } },
    ];
  });
}

/** The villages of A with the change from B: the difference of the shares as shown (rounded half
 * up to one decimal, so it matches the tables), and of the households served. */
function changeOf(a, b) {
  const other = new Map(b.features.map((f) => [f.properties.area_code, f.properties]));
  const known = (x) => x !== null && x !== undefined;
  // a village without a share in either run (no households) has no change: it is left out, and
  // run A's "no data" class shows through
  return { type: "FeatureCollection", features: a.features.filter((f) => other.has(f.properties.area_code)
    && known(f.properties.coverage_pct) && known(other.get(f.properties.area_code).coverage_pct))
    .map((f) => {
      const p = f.properties, q = other.get(p.area_code);
      return { type: "Feature", geometry: f.geometry, properties: { area_code: p.area_code, name: p.name,
        change_pp: halfUp(halfUp(p.coverage_pct, 1) - halfUp(q.coverage_pct, 1), 1),
        served_change: p.served_households - q.served_households } };
    }) };
}

/** When comparing, the main map carries the change map of A against B (a layer shown from the
 * layer list); otherwise none. */
export function showChange() {
  const [main, other] = state.views;
  main.change = other?.runId && main.runId ? changeOf(main.data, other.data) : null;
  main.map.setStyle(buildStyle(main.runId, main.data, main.change));
}

/** The style the layer list is made from: the change map's layer is listed while comparing. */
export function listedStyle() {
  return buildStyle(null, EMPTY, state.views.length > 1 ? EMPTY : null);
}

export function createView(container, camera) {
  const map = new maplibregl.Map({
    container, style: buildStyle(null, EMPTY), ...camera,
    transformRequest: withKey, // tiles of a server whose reads are closed need the viewer's key
    canvasContextAttributes: { preserveDrawingBuffer: true }, // the PNG export reads the last frame
    attributionControl: { compact: true }, dragRotate: false, pitchWithRotate: false, locale: mapLocale(),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }));
  const view = { map, runId: null, data: EMPTY };
  map.on("error", mapError);
  map.on("click", guarded((event) => mapClick(view, event)));
  map.on("move", () => follow(view));
  return view;
}

/** MapLibre's own words (its buttons' labels, the map's title) in the UI's language. */
function mapLocale() {
  return { "NavigationControl.ZoomIn": t("zoomIn"), "NavigationControl.ZoomOut": t("zoomOut"),
    "Map.Title": t("mapTitle"), "AttributionControl.ToggleAttribution": t("toggleAttribution"),
    "Popup.Close": t("popupClose") };
}

/** The maps made again in the UI's language (MapLibre sets its words when a map is made), each
 * on its camera and run. */
export async function remakeViews() {
  const runs = state.views.map((view) => view.runId);
  const camera = { center: state.views[0].map.getCenter(), zoom: state.views[0].map.getZoom() };
  const containers = state.views.map((view) => view.map.getContainer());
  for (const view of state.views) view.map.remove();
  state.views.splice(0, state.views.length, ...containers.map((c) => createView(c, camera)));
  await Promise.all(state.views.map((view, i) => showRun(view, runs[i])));
  if (state.views.length > 1) showChange();
}

/** MapLibre's requests to this server carry the signed-in key (never sent to the basemap's host). */
export function withKey(url) {
  if (!state.key || new URL(url, location.href).origin !== location.origin) return { url };
  return { url, headers: { Authorization: `Bearer ${state.key}` } };
}

/** An unreachable basemap (offline, say) is expected: a small notice instead of an error per
 * tile. Every other map error stays an error. */
export function mapError(event) {
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

export let following = false;
/** Side by side maps move together. */
export function follow(leader) {
  if (following) return;
  following = true;
  const camera = { center: leader.map.getCenter(), zoom: leader.map.getZoom() };
  for (const view of state.views) if (view !== leader) view.map.jumpTo(camera);
  following = false;
}

export function setCompare(on) {
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

export async function showRun(view, runId) {
  const container = view.map.getContainer();
  delete container.dataset.runId;
  view.runId = runId;
  const data = runId ? await features("coverage_all_runs", { run_id: runId, level: "village" }) : EMPTY;
  if (view.runId !== runId || !state.views.includes(view)) return; // another run was chosen meanwhile
  view.data = data;
  view.change = null; // made again once both runs are shown (showChange)
  view.map.setStyle(buildStyle(runId, data));
  // marks the map for tests and scripts: it has drawn this run
  view.map.once("idle", () => { container.dataset.runId = runId ?? ""; });
  view.map.triggerRepaint();
}
