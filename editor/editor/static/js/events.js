// The events list: newest first, filter by state, search, refreshes itself; "New event".

import { get, post, query } from "./api.js";
import { h, replace, safeLink, typingIn } from "./dom.js";
import { renderProgress } from "./editform.js";
import { MEANING, STATES } from "./states.js";
import { fmtAgo, fmtDuration, fmtLocal, fmtUtc, parseIso, parseTimeInput, toIso } from "./time.js";

const REFRESH_MS = 5000;
const LIMIT = 200;

/** POST a new event and open it in the editor; a refusal shows in `error`. */
export async function createAndOpen(ctx, body, button, error) {
  button.disabled = true;
  error.textContent = "";
  try {
    const ev = await post("/api/events", body);
    ctx.go(`#/events/${encodeURIComponent(ev.id)}`);
  } catch (e) {
    if (e.status === 401) return ctx.signedOut();
    error.textContent = e.message;
    button.disabled = false;
  }
}

export function mount(main, ctx, params) {
  let state = params.get("state") || "";
  let q = params.get("q") || "";
  let events = [];
  let selected = 0;
  let lastOk = null;
  let timer = null;
  let inflight = null;
  let stopped = false;

  const status = h("span", { class: "muted refresh-status", "aria-live": "polite" });
  const search = h("input", {
    type: "search", value: q, placeholder: "Search description, category, notes, title   ( / )",
    "aria-label": "search events", class: "search",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => { q = search.value.trim(); changed(); }, 250);
    },
  });
  let searchTimer = null;
  const filters = h("div", { class: "segmented", role: "group", "aria-label": "filter by state" },
    ["", ...STATES].map((s) => h("button", {
      type: "button", class: s === state ? "on" : "", dataset: { state: s },
      title: s ? MEANING[s] : "every state",
      onclick: () => { state = s; changed(); },
    }, s || "All")));
  const newPanel = h("div", { class: "new-event", hidden: true });
  const tbody = h("tbody");
  const table = h("table", { class: "events" },
    h("thead", {}, h("tr", {},
      ["State", "Start (UTC)", "Length", "Category", "Description", "Video title", "Editor",
        "Error", "Video"].map((t) => h("th", {}, t)))),
    tbody);
  const more = h("p", { class: "muted small" });

  replace(main, h("section", { class: "events-page" },
    h("div", { class: "toolbar" },
      filters, search,
      h("button", { type: "button", class: "primary", onclick: () => openNew(), title: "n" }, "New event"),
      status),
    newPanel,
    h("div", { class: "table-wrap" }, table),
    more));

  function changed() {
    filters.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.state === state));
    const hash = "#/events" + query({ state, q });
    history.replaceState(null, "", hash);
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    const mine = {};
    inflight = mine;
    try {
      const list = await get("/api/events" + query({ state, q, limit: LIMIT }));
      if (stopped || inflight !== mine) return;
      events = Array.isArray(list) ? list : list.events || [];
      lastOk = Date.now();
      render();
      status.className = "muted refresh-status";
    } catch (e) {
      if (stopped || inflight !== mine) return;
      if (e.status === 401) return ctx.signedOut();
      status.className = "error refresh-status";
      status.textContent = `Could not refresh: ${e.message}` +
        (lastOk ? ` (list from ${fmtAgo(lastOk)})` : "");
    }
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  }

  function tick() {
    if (document.visibilityState === "visible") refresh();
    else timer = setTimeout(tick, REFRESH_MS);
  }

  function render() {
    status.textContent = `${events.length} event${events.length === 1 ? "" : "s"} · updated ${fmtUtc(lastOk)} UTC`;
    selected = Math.min(selected, Math.max(0, events.length - 1));
    if (!events.length) {
      replace(tbody, h("tr", {}, h("td", { colspan: 9, class: "empty" },
        q || state ? "No events match." : "No events yet. Start one with New event (n), or from the Live page.")));
    } else {
      replace(tbody, events.map((ev, i) => row(ev, i === selected)));
    }
    more.textContent = events.length >= LIMIT ? `Showing the newest ${LIMIT}; search or filter to find older ones.` : "";
  }

  function row(ev, isSelected) {
    const start = parseIso(ev.event_start);
    const end = parseIso(ev.event_end);
    const href = `#/events/${encodeURIComponent(ev.id)}`;
    return h("tr", {
      class: isSelected ? "selected" : "",
      onclick: (e) => { if (!e.target.closest("a")) ctx.go(href); },
    },
    h("td", { class: "state-cell" }, h("span", { class: `state s-${ev.state}`, title: MEANING[ev.state] || "" }, ev.state),
      renderProgress(ev.progress, { compact: true })),
    h("td", { class: "mono nowrap", title: start !== null ? fmtLocal(start, true) + " local" : "" },
      h("a", { href }, start !== null ? fmtUtc(start, true) : ev.event_start || "—")),
    h("td", { class: "mono nowrap", title: end !== null ? `ends ${fmtUtc(end, true)} UTC` : "no end yet" },
      end !== null && start !== null ? fmtDuration(end - start) : h("span", { class: "badge open" }, "open")),
    h("td", { class: "clip" }, ev.category || ""),
    h("td", { class: "clip wide", title: ev.description || "" }, ev.description || ""),
    h("td", { class: "clip wide", title: ev.video_title || "" }, ev.video_title || ""),
    h("td", { class: "nowrap" }, ev.editor || "",
      ev.edit_time ? h("div", { class: "muted small" }, fmtAgo(parseIso(ev.edit_time))) : null),
    h("td", { class: "error-cell", title: ev.error || "" }, h("div", { class: "clamp2" }, ev.error || "")),
    h("td", { class: "nowrap" }, ev.video_link ? safeLink(ev.video_link, "video ↗") : ""));
  }

  function openNew() {
    if (!newPanel.hidden) {
      newPanel.querySelector("input").focus();
      return;
    }
    newPanel.hidden = false;
    const startIn = h("input", { type: "text", class: "mono", value: toIso(Date.now() - 60000), "aria-label": "event start" });
    const endIn = h("input", { type: "text", class: "mono", placeholder: "open (live) — or a time, or +2m", "aria-label": "event end" });
    const category = h("input", { type: "text", placeholder: "optional", "aria-label": "category" });
    const description = h("input", { type: "text", placeholder: "what happened (optional)", "aria-label": "description" });
    const startNote = h("div", { class: "muted small mono" });
    const endNote = h("div", { class: "muted small mono" });
    const error = h("p", { class: "error", role: "alert" });
    const create = h("button", { type: "submit", class: "primary" }, "Create and edit");
    const now = () => Date.now();
    const readStart = () => parseTimeInput(startIn.value, now());
    const readEnd = (startMs) => (endIn.value.trim() ? parseTimeInput(endIn.value, startMs) : { ms: null });
    const explain = () => {
      const s = readStart();
      startNote.textContent = s.error ? s.error : `${fmtUtc(s.ms, true)} UTC · ${fmtLocal(s.ms)} · ${fmtAgo(s.ms)}`;
      startNote.className = s.error ? "error small" : "muted small mono";
      const e = s.error ? { ms: null } : readEnd(s.ms);
      endNote.textContent = e.error ? e.error : e.ms === null ? "no end: the editor plays it live"
        : `${fmtUtc(e.ms, true)} UTC · length ${fmtDuration(e.ms - s.ms)}`;
      endNote.className = e.error ? "error small" : "muted small mono";
    };
    startIn.addEventListener("input", explain);
    endIn.addEventListener("input", explain);
    const close = () => { newPanel.hidden = true; newPanel.replaceChildren(); };
    replace(newPanel, h("form", {
      class: "card new-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const s = readStart();
        const en = s.error ? { ms: null } : readEnd(s.ms);
        if (s.error || en.error) {
          error.textContent = s.error || en.error;
          return;
        }
        const body = { event_start: toIso(s.ms) };
        if (en.ms !== null) body.event_end = toIso(en.ms);
        if (category.value.trim()) body.category = category.value.trim();
        if (description.value.trim()) body.description = description.value.trim();
        await createAndOpen(ctx, body, create, error);
      },
      onkeydown: (e) => { if (e.key === "Escape") close(); },
    },
    h("h2", {}, "New event"),
    h("div", { class: "grid2" },
      h("label", {}, "Start ", h("span", { class: "muted small" }, "UTC; or 13:45:00, or -5m from now"), startIn, startNote),
      h("label", {}, "End ", h("span", { class: "muted small" }, "optional"), endIn, endNote),
      h("label", {}, "Category", category),
      h("label", {}, "Description", description)),
    error,
    h("div", { class: "buttons" }, create, h("button", { type: "button", onclick: close }, "Cancel"))));
    explain();
    startIn.focus();
    startIn.select();
  }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector("dialog[open]")) return;
    if (typingIn(e.target)) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.key === "/") {
      e.preventDefault();
      search.focus();
    } else if (e.key === "n") {
      e.preventDefault();
      openNew();
    } else if ((e.key === "j" || e.key === "ArrowDown") && events.length) {
      e.preventDefault();
      selected = Math.min(events.length - 1, selected + 1);
      render();
    } else if ((e.key === "k" || e.key === "ArrowUp") && events.length) {
      e.preventDefault();
      selected = Math.max(0, selected - 1);
      render();
    } else if (e.key === "Enter" && events[selected] && !e.target.closest("button, a")) {
      ctx.go(`#/events/${encodeURIComponent(events[selected].id)}`);
    }
  }

  const onVisible = () => { if (document.visibilityState === "visible") refresh(); };
  document.addEventListener("keydown", onKey);
  document.addEventListener("visibilitychange", onVisible);
  refresh();

  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(searchTimer);
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
