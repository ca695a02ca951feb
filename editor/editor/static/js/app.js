// The page's shell: who is signed in, the server's configuration, and which view shows.
// Views: #/events (the list), #/events/ID (edit one), #/live[/STREAM]. Each view module has
// mount(main, ctx, params) -> unmount(), which stops its timers, players and key handlers.

import { api, ApiError, booted, dropBooted, get, setCsrf } from "./api.js";
import { ask } from "./dialog.js";
import { h, replace } from "./dom.js";
import * as eventsView from "./events.js";
import * as editView from "./edit.js";
import * as liveView from "./live.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const toastEl = document.getElementById("toast");
let unmount = null;
let toastTimer = null;
let leaveGuard = null; // set by a view: () => why leaving it would lose something, or null
let shownHash = null; // the hash of the view on screen

const ctx = {
  session: null,
  config: null,
  toast(message, kind = "info") {
    toastEl.textContent = message;
    toastEl.className = `toast show ${kind}`;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastEl.className = "toast"; }, kind === "error" ? 8000 : 3000);
  },
  /** GET path, or take the answer boot.js requested at page load (once). */
  prefetched(path) {
    return booted(path) || get(path);
  },
  go(hash) {
    if (window.location.hash === hash) route();
    else window.location.hash = hash;
  },
  /** A view's question before it is left (unsaved inputs); cleared when the view goes. */
  guardLeaving(reason) {
    leaveGuard = reason;
  },
  /** A 401 from any call: the session ended (expired, signed out elsewhere). */
  signedOut() {
    ctx.session = null;
    setCsrf(null);
    showSignIn("Your session has ended. Sign in again: what you typed on this page is kept until you reload it.");
  },
};

function parseHash() {
  const hash = window.location.hash.replace(/^#/, "") || "/events";
  const [path, search] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search || "") };
}

async function route() {
  if (!ctx.session || !ctx.config) return;
  const target = window.location.hash;
  const reason = leaveGuard && shownHash !== null && target !== shownHash ? leaveGuard() : null;
  if (reason) {
    history.replaceState(null, "", shownHash); // stay (and say so in the address) until answered
    const leave = await ask({ title: "Leave this event?", text: reason, confirm: "Leave without saving", danger: true });
    if (!leave) return;
    history.replaceState(null, "", target);
  }
  shownHash = window.location.hash;
  leaveGuard = null;
  const { parts, params } = parseHash();
  if (unmount) {
    unmount();
    unmount = null;
  }
  document.querySelectorAll("[data-nav]").forEach((a) => {
    a.classList.toggle("active", a.dataset.nav === (parts[0] || "events"));
  });
  main.replaceChildren();
  if (parts[0] === "events" && parts[1]) unmount = editView.mount(main, ctx, parts[1], params);
  else if (parts[0] === "live") unmount = liveView.mount(main, ctx, parts[1], params);
  else unmount = eventsView.mount(main, ctx, params);
}

function showWho() {
  const s = ctx.session;
  replace(who,
    h("span", { class: "muted" }, "signed in as "),
    h("strong", {}, s.editor),
    s.admin ? h("span", { class: "badge admin" }, "admin") : null,
    h("button", { class: "link", type: "button", onclick: signOut }, "Sign out"),
  );
}

async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } catch (e) {
    // Signed out either way as far as this page is concerned.
  }
  if (unmount) {
    unmount();
    unmount = null;
  }
  leaveGuard = null;
  ctx.session = null;
  setCsrf(null);
  showSignIn("Signed out.");
}

let signInShown = false;

function showSignIn(message) {
  if (signInShown) return;
  signInShown = true;
  replace(who);
  const error = h("p", { class: "error", role: "alert" });
  const token = h("input", {
    type: "password", id: "token", autocomplete: "current-password", required: true,
    placeholder: "login token", "aria-label": "login token",
  });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const dialog = h("div", { class: "signin-backdrop" },
    h("form", {
      class: "signin card",
      onsubmit: async (e) => {
        e.preventDefault();
        button.disabled = true;
        error.textContent = "";
        try {
          await api("POST", "/api/session", { token: token.value.trim() });
          dialog.remove();
          signInShown = false;
          await start();
        } catch (err) {
          error.textContent = err.status === 401 ? "That token is not valid." : err.message;
          button.disabled = false;
          token.select();
        }
      },
    },
    h("h1", {}, "Sign in"),
    message ? h("p", { class: "muted" }, message) : null,
    h("p", { class: "muted" },
      "Paste the login token an administrator gave you (python -m editor users add NAME)."),
    token, error, button));
  document.body.appendChild(dialog);
  token.focus();
}

async function start() {
  // Both at once: the edit page's first frame waits for them.
  const sessionRequest = booted("/api/session") || get("/api/session");
  const configRequest = ctx.config && unmount ? Promise.resolve(ctx.config)
    : booted("/api/config") || get("/api/config");
  configRequest.catch(() => {}); // judged below, after the session
  try {
    const session = await sessionRequest;
    ctx.session = session;
    setCsrf(session.csrf);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      dropBooted();
      if (!unmount) replace(main);
      showSignIn(null);
      return;
    }
    replace(main, h("div", { class: "pad" },
      h("h1", {}, "The editor server does not answer"),
      h("p", { class: "error" }, e.message),
      h("button", { type: "button", onclick: () => start() }, "Try again")));
    return;
  }
  try {
    ctx.config = await configRequest;
  } catch (e) {
    replace(main, h("div", { class: "pad" }, h("h1", {}, "Cannot load the configuration"),
      h("p", { class: "error" }, e.message),
      h("button", { type: "button", onclick: () => start() }, "Try again")));
    return;
  }
  ctx.config.restreamers = restreamerUrls(ctx.config);
  showWho();
  if (!unmount) route(); // signed in again over a view: keep it and what was typed in it
}

/** The config's restreamer URL(s): one string, or a list to try in order. */
function restreamerUrls(config) {
  const value = config.restreamer_urls || config.restreamer_url || [];
  return (Array.isArray(value) ? value : [value]).filter(Boolean);
}

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (e) => {
  const err = e.reason;
  if (err instanceof ApiError && err.status === 401) {
    e.preventDefault();
    ctx.signedOut();
  }
});
start();
