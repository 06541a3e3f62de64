// The API over HTTP: requests with the signed-in key, refusals in plain words, OGC API features.
import { t } from "./i18n.js";
import { $, ApiError, MAX_ITEMS, state } from "./state.js";

// ---- HTTP ------------------------------------------------------------------------------------

export async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (state.key) headers.Authorization = `Bearer ${state.key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(t("errorNetwork"));
  }
  if (!response.ok) {
    const { message, field } = await problem(response);
    throw new ApiError(message, field);
  }
  return response.status === 204 ? null : response.json();
}

/** The API's refusal in plain words and the field it names: its `detail.message` (naming
 * `detail.field`), or FastAPI's list of validation errors (the first one's field). */
export async function problem(response) {
  if (response.status === 401) return { message: t("error401"), field: null };
  if (response.status === 403) return { message: t("error403"), field: null };
  let detail;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = response.statusText;
  }
  if (Array.isArray(detail)) { // loc is ["body", field…]; pydantic prefixes its own checks with "Value error, "
    const message = detail.map((d) => {
      const [field, text] = [d.loc.slice(1).join("."), d.msg.replace(/^Value error, /, "")];
      return field ? t("errorField", { field, message: text }) : text;
    }).join(" ");
    return { message, field: detail[0]?.loc.slice(1).join(".") || null };
  }
  if (detail && typeof detail === "object") {
    return { message: detail.field ? t("errorField", { field: detail.field, message: detail.message }) : detail.message,
      field: detail.field ?? null };
  }
  return { message: t("errorOther", { status: response.status, message: detail }), field: null };
}

/** An event handler whose API refusals are shown to the user; anything else is a bug and stays
 * an uncaught error in the console. */
export const guarded = (handler) => async (...args) => {
  try {
    await handler(...args);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(error.message, "error");
  }
};

export function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

export function features(collection, params) {
  const query = new URLSearchParams({ f: "json", limit: MAX_ITEMS, ...params });
  return api(`/ogc/collections/${collection}/items?${query}`);
}
