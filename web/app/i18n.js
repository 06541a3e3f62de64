// Every string the web map shows, in Bahasa Indonesia (the default: the map is for district
// planners) and English. Elements of index.html name their string with data-i18n (text) or
// data-i18n-label (aria-label); map.js calls t(). Layer and class names come translated in the
// server's style (/styles/maplibre.json?lang=), not from here.

import EN from "./strings_en.js";
import ID from "./strings_id.js";

const STRINGS = { id: ID, en: EN };

export const LANGUAGES = Object.keys(STRINGS);
let current = "id";

export function setLanguage(lang) {
  current = LANGUAGES.includes(lang) ? lang : "id";
  document.documentElement.lang = current;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  return current;
}

export function language() {
  return current;
}

/** The string `key` with {name} placeholders filled. A missing key is a bug: it is logged as an
 * error (the browser test fails on console errors) and the key itself is shown. */
export function t(key, values = {}) {
  const text = STRINGS[current][key];
  if (text === undefined) {
    console.error(`web map: no "${current}" string for "${key}"`);
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** The label of an API code (facility type, unit, step…), or the code itself when the server
 * knows a code this file does not yet: new vocabulary still shows, just untranslated. */
export function term(kind, code) {
  return STRINGS[current][`${kind}.${code}`] ?? code;
}

/** `value` rounded half up (away from zero at .5) to `digits` decimals, from its shortest decimal
 * text: the rule of the API's CSV, the report and the CLI (gis_service/analysis/rounding.py), so
 * 0.15 is 0.2 everywhere (Intl alone would round the binary value 0.1499… down). */
export function halfUp(value, digits = 0) {
  const [mantissa, exponent = "0"] = String(Math.abs(value)).split("e"); // 1e-7 is written so
  const rounded = Math.round(Number(`${mantissa}e${Number(exponent) + digits}`));
  const result = Math.sign(value) * Number(`${rounded}e-${digits}`);
  return Number.isFinite(result) ? result || 0 : value; // -0 shows as 0; beyond 1e21 as it is
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || value === "") return "–";
  return new Intl.NumberFormat(current === "id" ? "id-ID" : "en-GB",
    { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(halfUp(Number(value), digits));
}

export function formatDate(iso) {
  return new Intl.DateTimeFormat(current === "id" ? "id-ID" : "en-GB",
    { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}
