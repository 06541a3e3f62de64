// The runs and the summary tables of the chosen run (and of the compared one).
import { formatDate, formatNumber, halfUp, language, t, term } from "./i18n.js";
import { $, ApiError, REGENCY_ROWS, RUNGS, state } from "./state.js";
import { api } from "./http.js";
import { cell, h, isPercent, options, signed, table } from "./dom.js";
import { setCompare, showChange, showRun } from "./views.js";
import { renderLayers } from "./layers.js";
import { renderMeetingLinks } from "./meeting.js";
import { renderVillageList } from "./village.js";

// ---- runs and summary --------------------------------------------------------------------------

export function runLabel(run) {
  const label = t("runOption", { id: run.id, scenario: run.scenario_name, date: formatDate(run.started_at),
    method: term("method", run.method), facilities: run.facilities });
  const marks = [run.id === publishedRun()?.id ? t("published") : null, run.illustrative ? t("illustrative") : null]
    .filter(Boolean);
  return marks.length ? `${label} (${marks.join(", ")})` : label;
}

/** The run the default layers show: the one published last (none: the newest run is shown first). */
export function publishedRun() {
  return state.runs.filter((run) => run.published_at)
    .sort((a, b) => b.published_at.localeCompare(a.published_at) || b.id - a.id)[0] ?? null;
}

export async function loadRuns() {
  state.runs = await api("/api/runs");
  renderRunSelects();
}

export function renderRunSelects() {
  const runs = state.runs.map((run) => [run.id, runLabel(run)]);
  options($("run-select"), runs, $("run-select").value || (publishedRun() ?? state.runs[0])?.id);
  options($("compare-select"), [["", t("noCompare")], ...runs], $("compare-select").value);
}

export const selectedRun = () => Number($("run-select").value) || null;
export const comparedRun = () => Number($("compare-select").value) || null;

export async function selectRuns() {
  const [a, b] = [selectedRun(), comparedRun()];
  setCompare(b !== null);
  const [summaries, changes] = await Promise.all([
    Promise.all([a, b].filter(Boolean).map((id) => api(`/api/runs/${id}/summary`))),
    // what changed is an extra: its refusal leaves the maps and tables as they are
    a && api(`/api/runs/${a}/changes${b ? `?against=${b}` : ""}`).catch((error) => {
      if (!(error instanceof ApiError)) throw error;
      return null;
    }),
    showRun(state.views[0], a), b && showRun(state.views[1], b)]);
  if (a !== selectedRun() || b !== comparedRun()) return; // chosen again meanwhile
  if (b) showChange();
  renderLayers(); // the change map is listed while comparing
  state.summaries = summaries;
  state.changes = changes || null;
  renderSummary();
  renderCaptions();
  renderMeetingLinks();
  renderVillageList();
}

export function renderCaptions() {
  const name = (id) => runLabel(state.runs.find((run) => run.id === id));
  const [a, b] = [selectedRun(), comparedRun()];
  const captions = { "map-caption": a ? (b ? `A · ${name(a)}` : name(a)) : "",
    "map-compare-caption": b ? `B · ${name(b)}` : "" };
  for (const [id, text] of Object.entries(captions)) {
    $(id).textContent = text;
    $(id).title = text; // the caption may be cut short on a narrow map
  }
}

/** A difference A − B as a cell: of shares in percentage points between the shares as shown
 * (rounded half up to one decimal, so the column is the difference of the numbers beside it), of
 * counts as a count; "–" where either side has none. */
function diffCell(va, vb, { percent = false, testid } = {}) {
  const none = va === null || va === undefined || vb === null || vb === undefined;
  const diff = none ? null : percent ? halfUp(halfUp(va, 1) - halfUp(vb, 1), 1) : va - vb;
  return h("td", { class: "n diff", "data-testid": testid, "data-value": diff ?? "" },
    diff === null ? "–" : signed(diff, percent));
}

export function renderSummary() {
  const box = $("summary");
  const [a, b] = state.summaries;
  document.body.classList.toggle("comparing", Boolean(b));
  if (!a) {
    box.replaceChildren(h("p", {}, t("noRuns")));
    return;
  }
  const pct = { percent: true };
  const runHead = (s, letter) => (b ? `${letter} · #${s.run.id}` : `#${s.run.id}`);
  const diffHead = b ? [t("difference")] : [];

  const regencyRows = REGENCY_ROWS.map((key) => {
    const percent = isPercent(key);
    const [va, vb] = [a.regency[key], b?.regency[key]];
    return h("tr", {}, h("th", { scope: "row", title: t(`${key}Tip`) }, t(key)),
      cell(va, { percent, testid: `regency-${key}-a` }),
      b && cell(vb, { percent, testid: `regency-${key}-b` }),
      b && diffCell(va, vb, { percent, testid: `regency-${key}-diff` }));
  });

  // the rungs of the ladder in order, then any other the run counted (e.g. unknown); the rows
  // are disjoint and add up to the households (the last row)
  const rungs = [...new Set([...RUNGS, ...Object.keys(a.regency.ladder)])]
    .filter((rung) => RUNGS.includes(rung) || a.regency.ladder[rung] || a.regency.ladder_projected[rung]);
  const sum = (ladder) => Object.values(ladder).reduce((x, y) => x + y, 0);
  const ladderRow = (label, now, pa, pb, testid) => h("tr", { "data-testid": testid },
    h("th", { scope: "row" }, label), cell(now), cell(pa), b && cell(pb), b && diffCell(pa, pb));
  const ladderRows = [...rungs.map((rung) => ladderRow(term("rung", rung), a.regency.ladder[rung] ?? 0,
    a.regency.ladder_projected[rung] ?? 0, b?.regency.ladder_projected[rung] ?? 0, `ladder-${rung}`)),
  ladderRow(t("total"), sum(a.regency.ladder), sum(a.regency.ladder_projected),
    b && sum(b.regency.ladder_projected), "ladder-total")];

  const gapOf = (s, g) => s.gaps.find((x) => x.indicator === g.indicator && x.year === g.year);
  const gapRows = a.gaps.map((g) => h("tr", {},
    h("th", { scope: "row" }, `${term("indicator", g.indicator)} ${g.year}`),
    cell(g.target_pct, pct), !b && cell(g.current_pct, { percent: true, testid: `gap-${g.indicator}-${g.year}-now` }),
    cell(g.projected_pct, pct),
    b && cell(gapOf(b, g)?.projected_pct, pct), cell(g.gap_households),
    b && cell(gapOf(b, g)?.gap_households)));

  const districtRows = a.districts.map((d) => {
    const other = b?.districts.find((x) => x.code === d.code);
    return b
      ? h("tr", {}, h("th", { scope: "row" }, d.name), cell(d.coverage_pct, pct), cell(other?.coverage_pct, pct),
        diffCell(d.coverage_pct, other?.coverage_pct, { percent: true, testid: `district-${d.code}-diff` }))
      : h("tr", {}, h("th", { scope: "row" }, d.name), cell(d.households), cell(d.served_households),
        cell(d.coverage_pct, pct));
  });

  const ab = (head) => (b ? [`${head} A`, `${head} B`] : [head]);
  box.replaceChildren(...[
    table(`${t("regency")}: ${a.regency.name}`, ["", runHead(a, "A"), ...(b ? [runHead(b, "B"), ...diffHead] : [])],
      regencyRows),
    table(t("ladderTitle"), ["", t("now"), ...ab(t("projected")), ...diffHead], ladderRows),
    gapRows.length > 0 && table(t("gapsTitle"),
      ["", t("target"), ...(b ? [] : [t("now")]), ...ab(t("projected")), ...ab(t("gapHouseholds"))], gapRows),
    table(t("districts"), b ? [t("district"), `${t("coverage")} A`, `${t("coverage")} B`, t("difference")]
      : [t("district"), t("households"), t("served"), t("coverage")], districtRows),
    h("p", { class: "downloads" }, state.summaries.map((s, i) => downloads(s.run.id, b ? "AB"[i] : null))),
    changesBox(),
  ].filter(Boolean));
}

/** The run's village table (Excel-friendly CSV in the UI's language, the plain CSV, the
 * GeoPackage) for each run shown. */
function downloads(run, letter) {
  const lang = language();
  const name = letter ? `${letter} (#${run}): ` : "";
  return h("span", { class: "download-set" }, name,
    h("a", { href: `/api/runs/${run}/villages?f=csv&lang=${lang}`, download: "", "data-testid": `csv-${run}` },
      t("downloadTable")), " · ",
    h("a", { href: `/api/runs/${run}/villages?f=csv`, download: "" }, t("downloadCsv")), " · ",
    h("a", { href: `/api/runs/${run}/export.gpkg`, download: "" }, t("downloadGpkg")));
}

// ---- what a run changed ------------------------------------------------------------------------

/** What the chosen run changed against the run before it (or, comparing, against B) and the
 * facilities that serve nobody (state.changes, from /api/runs/{id}/changes). */
function changesBox() {
  return h("section", { id: "changes", class: "changes", "data-testid": "changes", "aria-live": "polite" },
    changesContent());
}

function changesContent() {
  const c = state.changes;
  if (!c || c.run_id !== selectedRun()) return [];
  const out = [h("h3", {}, c.against ? t("changesTitle", { run: c.run_id, against: c.against }) : t("changesNone"))];
  if (c.against) {
    const diff = c.served_households_after - c.served_households_before;
    out.push(h("p", { "data-testid": "changes-line" }, t("changesLine", {
      before: formatNumber(c.served_households_before), after: formatNumber(c.served_households_after),
      diff: signed(diff, false), gained: c.villages_gained, hhGained: formatNumber(c.households_gained),
      lost: c.villages_lost, hhLost: formatNumber(c.households_lost) })));
    if (c.villages.length) {
      out.push(h("ul", { class: "village-changes" }, c.villages.slice(0, 5).map((v) => h("li", {},
        `${v.name ?? v.code}: ${formatNumber(v.served_before)} → ${formatNumber(v.served_after)} (${signed(v.difference, false)})`))));
    }
  }
  if (c.idle_facilities.length) {
    out.push(h("ul", { class: "idle", "data-testid": "idle-facilities" }, c.idle_facilities.map((f) => h("li", {
      "data-reason": f.reason },
      t("idleLine", { name: f.name ?? `#${f.id}`, type: term("type", f.type),
        why: t(`idle.${f.reason}`, { m: formatNumber(f.max_snap_m), reach: f.reach, households: formatNumber(f.households_in_reach),
          scenario: f.scenario ?? "" }) })))));
  }
  return out;
}
