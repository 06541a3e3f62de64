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
  if (!response.ok) throw new ApiError(await problem(response));
  return response.status === 204 ? null : response.json();
}

/** The API's refusal in plain words: its `detail.message` (naming `detail.field`), or FastAPI's
 * list of validation errors. */
export async function problem(response) {
  if (response.status === 401) return t("error401");
  if (response.status === 403) return t("error403");
  let detail;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = response.statusText;
  }
  if (Array.isArray(detail)) { // loc is ["body", field…]; pydantic prefixes its own checks with "Value error, "
    return detail.map((d) => {
      const [field, message] = [d.loc.slice(1).join("."), d.msg.replace(/^Value error, /, "")];
      return field ? t("errorField", { field, message }) : message;
    }).join(" ");
  }
  if (detail && typeof detail === "object") {
    return detail.field ? t("errorField", { field: detail.field, message: detail.message }) : detail.message;
  }
  return t("errorOther", { status: response.status, message: detail });
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
