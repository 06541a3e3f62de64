// The trial's scorecard (/api/pilot/evaluation): each indicator with its traffic light, the
// recommendations in the UI's language, the institutional checklist's completeness and a link to
// the printable page.
import { formatNumber, language, t } from "./i18n.js";
import { $, ApiError, state } from "./state.js";
import { api } from "./http.js";
import { h } from "./dom.js";

const SHARES = /_(share|rate)$/;

export async function loadTrial() {
  state.trialError = null;
  state.trial = null;
  // the scorecard of the first pilot with a log (none yet: the card says so, and nothing is asked
  // for that does not exist)
  const logged = (await api("/api/pilots")).filter((pilot) => pilot.log_rows > 0);
  if (logged.length) {
    try {
      state.trial = await api(`/api/pilot/evaluation?${new URLSearchParams({ pilot: logged[0].name })}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      state.trialError = error.message; // in the API's own words
    }
  }
  renderTrial();
}

function value(row) {
  if (row.value === null || row.value === undefined) return "–";
  if (SHARES.test(row.id)) return `${formatNumber(100 * row.value, 1)} %`;
  return formatNumber(row.value, Number.isInteger(row.value) || row.id.endsWith("_idr") ? 0 : 2);
}

export function renderTrial() {
  const box = $("trial");
  const card = state.trial;
  if (!card) {
    box.replaceChildren(h("p", { class: state.trialError ? "field-error" : null }, state.trialError ?? t("trialNone")));
    return;
  }
  const lang = language();
  const rows = card.scorecard.map((row) => h("tr", { "data-testid": `trial-${row.id}` },
    h("th", { scope: "row", title: row.definitions[lang] }, t(`ind.${row.id}`)),
    h("td", { class: "n", "data-value": row.value ?? "" }, value(row)),
    h("td", { class: `score ${row.status.replace(" ", "-")}` }, t(`score.${row.status.replace(" ", "_")}`))));
  const advice = card.scorecard.filter((row) => row.recommendation)
    .map((row) => h("li", {}, h("b", {}, t(`ind.${row.id}`)), `: ${row.recommendation[lang]}`));
  const checklist = card.checklist_complete === null ? "–" : `${formatNumber(100 * card.checklist_complete, 0)} %`;
  box.replaceChildren(
    h("p", {}, t("trialPeriod", { pilot: card.pilot, from: card.period[0], to: card.period[1] })),
    h("div", { class: "table-scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("trialIndicator")),
        h("th", { scope: "col", class: "n" }, t("trialValue")), h("th", { scope: "col" }, t("trialStatus")))),
      h("tbody", {}, rows))),
    advice.length ? h("ul", { class: "advice", "data-testid": "trial-advice" }, advice) : null,
    h("p", {}, t("trialChecklist", { share: checklist })),
    card.illustrative_thresholds ? h("p", { class: "small" }, t("trialIllustrative")) : null,
    h("p", {}, h("a", { href: `/api/pilot/evaluation.html?${new URLSearchParams({ pilot: card.pilot, lang })}`,
      target: "_blank", rel: "noopener",
      "data-testid": "trial-page" }, t("trialPage"))),
  );
}
