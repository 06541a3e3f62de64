// Building the page: elements, select options, tables of numbers.
import { formatNumber, t } from "./i18n.js";

// ---- DOM helper --------------------------------------------------------------------------------

/** h("td", {class: "n"}, "12") - an element with attributes and children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export function options(select, items, selected) {
  select.replaceChildren(...items.map(([value, label]) => h("option", { value }, label)));
  if (items.some(([value]) => String(value) === String(selected))) select.value = selected;
}

export const isPercent = (key) => key.includes("_pct");

export function show(value, percent = false) {
  return percent && value !== null && value !== undefined ? `${formatNumber(value, 1)} %` : formatNumber(value);
}

/** A difference: of shares in percentage points ("poin"/"pp"), of counts as a count. */
export function signed(value, percent) {
  const text = percent ? `${formatNumber(Math.abs(value), 1)} ${t("points")}` : show(Math.abs(value));
  return value > 0 ? `+${text}` : value < 0 ? `−${text}` : text;
}

/** A table cell carrying its raw number (data-value) for scripts and tests, shown formatted. */
export function cell(value, { percent = false, testid } = {}) {
  return h("td", { class: "n", "data-testid": testid, "data-value": value ?? "" }, show(value, percent));
}

export function table(caption, head, rows) {
  return h("div", { class: "table-scroll" }, h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((text, i) => h("th", { scope: "col", class: i ? "n" : null }, text)))),
    h("tbody", {}, rows)));
}
