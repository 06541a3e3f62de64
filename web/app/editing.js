// Editing: signing in, scenarios, placing a facility, running a scenario as a job, the edit log.
import { formatDate, t, term } from "./i18n.js";
import { $, EDITOR_ROLES, FINISHED, POLL_MS, STORED_KEY, state } from "./state.js";
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
  for (const { map } of state.views) map.getCanvas().style.cursor = on ? "crosshair" : "";
  if (!on) {
    state.pending?.marker.remove();
    state.pending = null;
    $("facility-form").hidden = true;
  }
}

export function placeFacility(lngLat) {
  state.pending?.marker.remove();
  const marker = new maplibregl.Marker({ color: "#7b3294" }).setLngLat(lngLat).addTo(state.views[0].map);
  state.pending = { lngLat, marker };
  $("facility-where").textContent = t("facilityAt", { lon: lngLat.lng.toFixed(5), lat: lngLat.lat.toFixed(5) });
  $("facility-form").hidden = false;
  $("facility-name").focus();
}

export async function saveFacility(event) {
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
