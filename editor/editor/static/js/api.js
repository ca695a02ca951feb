// The editor's JSON API (same origin). Every failure becomes an ApiError whose message is the
// server's one-line reason, or says in words what went wrong on the way.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token || null;
}

function reason(status, body, text, statusText) {
  if (body && typeof body === "object") {
    for (const key of ["error", "message", "reason"]) {
      if (typeof body[key] === "string" && body[key]) return body[key];
    }
  }
  const line = (text || "").split("\n").map((l) => l.trim()).find(Boolean);
  if (line && !line.startsWith("<")) return line;
  return `HTTP ${status} ${statusText || ""}`.trim();
}

export async function api(method, path, payload) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (payload !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return read(fetch(path, init), path);
}

async function read(responsePromise, path) {
  let response;
  try {
    response = await responsePromise;
  } catch (e) {
    throw new ApiError(0, `cannot reach the editor server (${e.message || e})`, null);
  }
  const text = await response.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, reason(response.status, body, text, response.statusText), body);
  }
  if (text && body === null) {
    throw new ApiError(response.status, `the editor server sent something that is not JSON for ${path}`, null);
  }
  return body;
}

/** A GET that boot.js started at page load, taken once; else null. */
export function booted(path) {
  const boot = window.editorBoot || {};
  const request = boot[path];
  delete boot[path];
  return request ? read(request, path) : null;
}

/** Forget what boot.js started (after a sign-in its answers are stale). */
export function dropBooted() {
  window.editorBoot = {};
}

export const get = (path) => api("GET", path);
export const post = (path, payload) => api("POST", path, payload === undefined ? {} : payload);
export const put = (path, payload) => api("PUT", path, payload);

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? "?" + text : "";
}
