// Editing: signing in, scenarios, placing a facility, running a scenario as a job, the edit log.
import { formatDate, t, term } from "./i18n.js";
import { $, ApiError, EDITOR_ROLES, FINISHED, POLL_MS, STORED_KEY, state } from "./state.js";
import { api, guarded, say } from "./http.js";
import { h, options } from "./dom.js";
import { loadRuns, selectRuns } from "./summary.js";

// ---- editing -----------------------------------------------------------------------------------

export const canEdit = () => EDITOR_ROLES.has(state.user?.role);

export async function signIn(key) {
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

export function renderUser() {
  const user = state.user;
  $("user").textContent = !user ? t("signedOut")
    : `${t("signedIn", { name: user.name, role: term("role", user.role) })}${canEdit() ? "" : ` ${t("viewerOnly")}`}`;
  $("edit-tools").disabled = !canEdit();
  renderEdits();
}

export async function loadScenarios() {
  state.scenarios = await api("/api/scenarios");
  renderScenarios();
  await renderExistingFacilities();
}

export function renderScenarios() {
  options($("scenario-select"), [["", t("noScenario")],
    ...state.scenarios.map((s) => [s.id, t("scenarioOption", { name: s.name, count: s.facility_ids.length })])],
  $("scenario-select").value);
}

export const chosenScenario = () => state.scenarios.find((s) => String(s.id) === $("scenario-select").value);

export function renderVocabulary() {
  const { types, units, methods } = state.vocabulary;
  options($("facility-type"), types.map((code) => [code, term("type", code)]), $("facility-type").value);
  options($("facility-unit"), [["", t("noUnit")], ...units.map((code) => [code, term("unit", code)])],
    $("facility-unit").value);
  options($("method-select"), methods.map((code) => [code, term("method", code)]),
    $("method-select").value || state.vocabulary.method);
  showDistance();
}

/** The radius is asked for only where it is used: the buffer method. */
export function showDistance() {
  $("distance-field").hidden = $("method-select").value !== "buffer";
}

export function setAdding(on) {
  state.adding = on;
  state.popup?.remove(); // it would cover the place clicked
  $("add-facility").setAttribute("aria-pressed", String(on));
  $("add-hint").hidden = !on;
  $("facility-form").hidden = !on; // coordinates may be typed as well as clicked
  for (const { map } of state.views) map.getCanvas().style.cursor = on ? "crosshair" : "";
  clearFieldErrors();
  if (!on) {
    state.pending?.marker.remove();
    state.pending = null;
    $("facility-form").reset();
  }
}

/** A click on the map puts the facility there: its coordinates in the form, a marker on the map. */
export function placeFacility(lngLat) {
  $("facility-lon").value = lngLat.lng.toFixed(6);
  $("facility-lat").value = lngLat.lat.toFixed(6);
  showPending();
  $("facility-name").focus();
}

/** The marker follows the coordinates in the form (clicked or typed). */
export function showPending() {
  const [lon, lat] = [Number($("facility-lon").value), Number($("facility-lat").value)];
  state.pending?.marker.remove();
  state.pending = null;
  if ($("facility-lon").value === "" || $("facility-lat").value === "" || coordinateErrors(lon, lat).length) return;
  const marker = new maplibregl.Marker({ color: "#7b3294" }).setLngLat([lon, lat]).addTo(state.views[0].map);
  state.pending = { lngLat: { lng: lon, lat }, marker };
}

const FIELDS = { name: "facility-name", type: "facility-type", lon: "facility-lon", lat: "facility-lat",
  capacity: "facility-capacity", capacity_unit: "facility-unit" };

function clearFieldErrors() {
  for (const id of Object.values(FIELDS)) {
    $(`${id}-error`).hidden = true;
    $(id).removeAttribute("aria-invalid");
  }
}

/** Show `message` under the form field the API (or the check before it) names; false when
 * the form has no such field. */
export function fieldError(field, message) {
  const id = FIELDS[field?.split(".")[0]];
  if (!id) return false;
  $(`${id}-error`).textContent = message;
  $(`${id}-error`).hidden = false;
  $(id).setAttribute("aria-invalid", "true");
  $(id).focus();
  return true;
}

/** What is wrong with typed coordinates, as [field, message] pairs in the UI's language. */
function coordinateErrors(lon, lat) {
  const [w, s, e, n] = state.region.bbox;
  const out = [];
  if (!Number.isFinite(lon)) out.push(["lon", t("needNumber")]);
  else if (lon < w || lon > e) out.push(["lon", t("outsideRegion", { low: w, high: e })]);
  if (!Number.isFinite(lat)) out.push(["lat", t("needNumber")]);
  else if (lat < s || lat > n) out.push(["lat", t("outsideRegion", { low: s, high: n })]);
  if (out.length === 2 && lon >= s && lon <= n && lat >= w && lat <= e) out.splice(0, 2, ["lon", t("swappedAxes")]);
  return out;
}

/** The form's values checked before they are sent, each problem named next to its field in the
 * UI's language (the API checks again and its refusal is shown the same way). */
function checkedFacility() {
  const body = { name: $("facility-name").value.trim(), type: $("facility-type").value,
    lon: Number($("facility-lon").value === "" ? NaN : $("facility-lon").value),
    lat: Number($("facility-lat").value === "" ? NaN : $("facility-lat").value) };
  const capacity = $("facility-capacity").value;
  const unit = $("facility-unit").value;
  const problems = coordinateErrors(body.lon, body.lat);
  if (!body.name) problems.push(["name", t("needName")]);
  if (capacity !== "" && !(Number(capacity) >= 0)) problems.push(["capacity", t("capacityNotNegative")]);
  if (capacity !== "" && !unit) problems.push(["capacity_unit", t("needUnit")]);
  if (capacity === "" && unit) problems.push(["capacity", t("needCapacity")]);
  if (capacity !== "" || unit) Object.assign(body, { capacity: capacity === "" ? null : Number(capacity), capacity_unit: unit || null });
  return { body, problems };
}

export async function saveFacility(event) {
  event.preventDefault();
  clearFieldErrors();
  const { body, problems } = checkedFacility();
  if (problems.length) {
    for (const [field, message] of [...problems].reverse()) fieldError(field, message); // the first gets the focus
    return;
  }
  const scenario = chosenScenario();
  let facility;
  try {
    // placed and added to the scenario in one transaction: a refusal leaves neither
    facility = await api(scenario ? `/api/facilities?scenario_id=${scenario.id}` : "/api/facilities",
      { method: "POST", body });
  } catch (error) {
    if (error instanceof ApiError && fieldError(error.field, error.message)) return;
    throw error;
  }
  setAdding(false);
  refreshFacilities();
  await Promise.all([loadEdits(), loadScenarios()]);
  say(scenario ? t("facilityAdded", { name: facility.name, scenario: scenario.name })
    : t("facilityAddedNoScenario", { name: facility.name }));
}

// ---- saved facilities into a scenario ----------------------------------------------------------

/** The saved facilities the chosen scenario does not have yet. */
export async function renderExistingFacilities() {
  const scenario = chosenScenario();
  state.facilities = canEdit() ? await api("/api/facilities") : [];
  const outside = state.facilities.filter((f) => !scenario?.facility_ids.includes(f.id))
    .sort((a, b) => a.name.localeCompare(b.name));
  options($("existing-facility"), outside.map((f) => [f.id, `${f.name} (${term("type", f.type)}, #${f.id})`]),
    $("existing-facility").value);
  $("add-existing").disabled = !scenario || !outside.length;
}

export async function addExistingFacility() {
  const scenario = chosenScenario();
  if (!scenario) {
    say(t("chooseScenario"), "error");
    return;
  }
  const id = Number($("existing-facility").value);
  const facility = state.facilities.find((f) => f.id === id);
  await api(`/api/scenarios/${scenario.id}/facilities/${id}`, { method: "PUT" });
  await loadScenarios();
  say(t("facilityAdded", { name: facility.name, scenario: scenario.name }));
}

/** Reload the facility tiles so that an added or undone facility shows at once. */
export function refreshFacilities() {
  for (const { map } of state.views) map.getSource("facilities")?.setTiles(state.baseStyle.sources.facilities.tiles);
}

export async function runScenario() {
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

export function renderJob() {
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

export function jobLine(job) {
  if (job.status === "succeeded") return t("jobDone", { run: job.result.run_id });
  if (job.status === "failed") return t("jobFailed", { error: job.error });
  return t(job.status === "running" && job.step ? "jobLine" : "jobWaiting",
    { status: term("status", job.status), step: term("step", job.step), pct: Math.round(100 * job.progress) });
}

export async function cancelJob() {
  state.job = await api(`/api/jobs/${state.job.id}/cancel`, { method: "POST" });
  renderJob();
}

export async function loadEdits() {
  state.edits = await api("/api/edits?limit=8");
  renderEdits();
}

export function renderEdits() {
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
export async function undoEdit(id) {
  const edit = state.edits.find((e) => e.id === id);
  const facility = edit?.after ?? edit?.before;
  await api(`/api/edits/${id}/undo`, { method: "POST" });
  refreshFacilities();
  await Promise.all([loadEdits(), loadScenarios()]);
  say(t("undone", { id, action: term("action", edit?.action), name: facility?.name ?? `#${edit?.facility_id}` }));
}
