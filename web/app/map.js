// The web map for district planners: the published layers from the server's MapLibre style, the
// village coverage of a chosen run (and of a second one side by side), its summary, and for
// editors placing a facility in a scenario and running it. Plain JS on MapLibre GL JS (global
// `maplibregl`, served from web/node_modules): no build step, nothing from the internet.

import { setLanguage, t } from "./i18n.js";
import { $, ApiError, STORED_KEY, STORED_LANGUAGE, state } from "./state.js";
import { api, guarded, say } from "./http.js";
import { createView, loadStyle, remakeViews } from "./views.js";
import { renderLayers } from "./layers.js";
import { loadRuns, renderCaptions, renderRunSelects, renderSummary, selectRuns } from "./summary.js";
import { exportMeetingMap, renderMeetingLinks } from "./meeting.js";
import { findVillage, renderVillageList } from "./village.js";
import { loadTrial, renderTrial } from "./trial.js";
import { addExistingFacility, cancelJob, loadEdits, renderExistingFacilities, showPending, renderJob, renderScenarios, renderUser, renderVocabulary, runScenario, saveFacility, setAdding, showDistance, signIn } from "./editing.js";

// ---- language ----------------------------------------------------------------------------------

async function switchLanguage(lang) {
  localStorage.setItem(STORED_LANGUAGE, setLanguage(lang));
  state.popup?.remove();
  await loadStyle();
  renderLayers();
  renderRunSelects();
  renderCaptions();
  renderSummary();
  renderMeetingLinks();
  renderVillageList();
  renderTrial();
  renderUser();
  renderScenarios();
  renderVocabulary();
  renderJob();
  say("");
  await remakeViews(); // last: the page's words change at once, the maps follow
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
  const [plans] = await Promise.all([api("/api/plans"), loadRuns()]);
  state.plans = plans;
  await Promise.all([selectRuns(), loadEdits(), loadTrial()]);
}

async function start() {
  $("lang").value = setLanguage(localStorage.getItem(STORED_LANGUAGE) ?? "id");
  const [config] = await Promise.all([api("/api/config"), loadStyle(),
    vocabulary().then((v) => { state.vocabulary = v; })]);
  state.region = config.region;
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
  $("export-png").addEventListener("click", guarded(exportMeetingMap));
  $("notice-close").addEventListener("click", () => { state.noticeClosed = true; $("notice").hidden = true; });
  $("key-form").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    await signIn($("api-key").value.trim());
    await loadResults(); // what the key may read (all of it when reads are not public)
  }));
  $("add-facility").addEventListener("click", () => setAdding(!state.adding));
  $("facility-cancel").addEventListener("click", () => setAdding(false));
  $("facility-form").addEventListener("submit", guarded(saveFacility));
  for (const id of ["facility-lon", "facility-lat"]) $(id).addEventListener("input", showPending);
  $("scenario-select").addEventListener("change", guarded(renderExistingFacilities));
  $("add-existing").addEventListener("click", guarded(addExistingFacility));
  $("village-search").addEventListener("change", guarded(findVillage));
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
