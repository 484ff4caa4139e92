// The only way the app talks to the server: JSON over the REST API with the session
// cookie and the CSRF token. Every failure becomes an ApiError with a plain message.

const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

let lastActivity = Date.now();
export const lastServerContact = () => lastActivity;

export class ApiError extends Error {
  constructor(status, body = {}) {
    super(body.message || "The request failed.");
    this.status = status;
    this.body = body;
  }

  /** Per-field messages ({field: ["…"]}), from a 400 or a 409 that names fields. */
  get fieldErrors() {
    return this.body.errors || {};
  }
}

/** What to tell a person about a failed request, in plain language. */
export function explain(error) {
  if (!(error instanceof ApiError)) {
    return "Something went wrong in the page. Reload it; if it keeps happening, tell support.";
  }
  const detail = error.body.message ? ` ${error.body.message}` : "";
  switch (error.status) {
    case 0:
      return "The server could not be reached. Check the network connection and try again; nothing was saved.";
    case 400:
      return error.body.message || "Some fields are not valid.";
    case 401:
      return "Your session has ended. Sign in again to continue.";
    case 403:
      return `You do not have permission to do this.${detail}`;
    case 404:
      return "This record was not found. It may have been merged or you may not have access to it.";
    case 409:
      // A refused transition lists what is allowed now: the record moved on meanwhile.
      return error.body.code === "invalid_transition"
        ? `This cannot be done in the record's current state.${detail} Reload to see what changed.`
        : error.body.message || "This conflicts with the record's current state.";
    case 410:
      return `This is no longer available.${detail}`;
    case 412:
      return "Someone else changed this record while you had it open. Reload to see their change, then try again.";
    case 429:
      return `Too many requests.${detail}`;
    default:
      return "The server had a problem and nothing was saved. Try again in a moment.";
  }
}

/**
 * Call the API. `path` is a path under /api/ or a full URL the API returned (a `next`
 * link). Options: method, body (sent as JSON), version (sent as If-Match), idempotencyKey
 * (the same key on every attempt of one create, so a retry after a lost answer never
 * creates twice), signal (to abort).
 */
export async function api(path, { method = "GET", body, version, idempotencyKey, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
  }
  if (version !== undefined) headers["If-Match"] = `"${version}"`;
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  // Links the API returns are absolute; keep only path and query so a proxy's scheme or
  // host never matters.
  const absolute = /^https?:/.test(path) ? new URL(path) : null;
  const url = absolute ? `${absolute.pathname}${absolute.search}` : `/api/${path.replace(/^\//, "")}`;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (failure) {
    if (failure.name === "AbortError") throw failure;
    throw new ApiError(0);
  }
  lastActivity = Date.now();
  let data = {};
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = {};
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("session-ended"));
    throw error;
  }
  return data;
}

/** Build a query string, repeating keys for arrays and skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    for (const item of [].concat(value)) {
      if (item !== undefined && item !== null && item !== "") search.append(key, item);
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
