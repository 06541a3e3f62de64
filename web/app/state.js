// What every part of the web map shares: the layer and source names, the limits, and `state`
// (the runs, the maps, the signed-in user, the open popup...). `$` finds an element by id.

export const RUN_SOURCE = "run-villages"; // GeoJSON: the villages of the run a map shows
export const CHANGE_SOURCE = "run-change"; // GeoJSON on the main map when comparing: A − B per village
export const LATEST_VILLAGES = "coverage_villages"; // the style's tiles of the published run, replaced by RUN_SOURCE
export const ALL_RUNS = /_all_runs$/; // sources holding every run: drawn for the map's run only
export const GAPS = "coverage_gaps_all_runs"; // village gaps to the targets of every run (filtered by run_id)
// layers of the published run, and the every-run source (with its extra filter) that draws the same
// for the run a map shows instead: in both panes every run layer is the pane's own run
export const RUN_TWINS = {
  service_areas: ["service_areas_all_runs", true],
  coverage_gaps: ["coverage_gaps_all_runs", true],
  coverage_districts: ["coverage_all_runs", ["==", ["get", "level"], "district"]],
};
// layers that cannot follow a run and say so (the plan layers' own titles name the published plan)
export const NOT_OF_THE_RUN = { facilities: "currentNotRun" };
export const MAX_ITEMS = 10000; // the OGC API's page limit, above the villages of any regency
export const POLL_MS = 1000;
export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
export const EDITOR_ROLES = new Set(["editor", "admin"]);
export const RUNGS = ["aman", "layak_sendiri", "layak_bersama", "belum_layak", "babs"];
export const REGENCY_ROWS = ["households", "people", "served_households", "served_people", "coverage_pct",
  "aman_pct_now", "aman_pct_projected", "layak_pct_now", "layak_pct_projected"];
export const STORED_LANGUAGE = "gis-service-lang";
export const STORED_KEY = "gis-service-api-key"; // sessionStorage: the key is gone when the tab closes
export const EMPTY = { type: "FeatureCollection", features: [] };
export const $ = (id) => document.getElementById(id);

export const state = {
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
  trial: null, // the trial's scorecard (/api/pilot/evaluation), null without a log
  trialError: null, // why the scorecard could not be read, other than "no log yet"
  plans: [], // scale-up plans, newest first (the meeting pack links the report of one)
  region: null, // code, name and bbox of the configured region
  changes: null, // what the chosen run changed (/api/runs/{id}/changes)
  popup: null, // the open village popup
  noticeClosed: false, // the planner closed the basemap notice: it stays closed
};

/** A refusal of the API in plain words; `field` names the input it is about, when one is. */
export class ApiError extends Error {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}
