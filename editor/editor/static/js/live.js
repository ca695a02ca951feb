// The live page: the stream's live edge, and a button that starts an event N seconds before
// the frame on screen (a clip of what just happened), opened in the editor.

import { h, option, replace } from "./dom.js";
import { createAndOpen } from "./events.js";
import { bindKeys, kbd } from "./keys.js";
import { Player } from "./player.js";
import { fmtDuration, fmtLocal, fmtUtc, toIso } from "./time.js";

export function mount(main, ctx, streamParam, params) {
  const config = ctx.config;
  const streams = Object.keys(config.streams || {});
  let cleanup = [];
  if (!streams.length) {
    replace(main, h("div", { class: "pad" }, h("h1", {}, "Live"),
      h("p", { class: "error" }, "The editor server lists no streams (the archive has none yet?).")));
    return () => {};
  }
  const stream = h("select", { "aria-label": "stream" }, streams.map((s) => option(s, s, s === streamParam)));
  const variant = h("select", { "aria-label": "variant" });
  const fillVariants = () => {
    const names = config.streams[stream.value] || [];
    const wanted = params.get("variant");
    const chosen = names.includes(wanted) ? wanted : names.includes("source") ? "source" : names[0];
    replace(variant, names.map((v) => option(v, v, v === chosen)));
  };
  fillVariants();

  const video = h("video", { class: "video", playsinline: true, autoplay: true, muted: true });
  const overlay = h("div", { class: "video-overlay", hidden: true });
  const clock = h("span", { class: "clock-utc mono" }, "—");
  const local = h("span", { class: "mono muted" });
  const behind = h("span", { class: "muted small" });
  const seconds = h("input", { type: "number", min: 1, max: 3600, value: params.get("back") || 30, class: "seconds", "aria-label": "seconds back" });
  const description = h("input", { type: "text", placeholder: "what happened? (optional)", class: "what", "aria-label": "description" });
  const clipButton = h("button", { type: "submit", class: "primary big" }, "Clip it ", kbd("c"));
  const error = h("p", { class: "error", role: "alert" });

  replace(main, h("section", { class: "live-page" },
    h("div", { class: "toolbar" },
      h("h1", {}, "Live"), stream, variant,
      h("span", { class: "live-tag" }, "LIVE"), clock, local, behind,
      h("button", { type: "button", onclick: () => player.goLive(), title: "back to the live edge" }, "Go live")),
    h("div", { class: "video-box" }, video, overlay),
    h("form", {
      class: "card clip-form",
      onsubmit: (e) => { e.preventDefault(); clip(); },
    },
    h("span", {}, "Start an event "), seconds, h("span", {}, " seconds before the frame on screen"),
    description, clipButton, error)));

  const player = new Player(video, config.restreamers, { live: true });
  cleanup.push(() => player.destroy());
  const load = () => {
    history.replaceState(null, "", `#/live/${encodeURIComponent(stream.value)}?variant=${encodeURIComponent(variant.value)}`);
    overlay.hidden = true;
    player.load({ stream: stream.value, variant: variant.value, startMs: null, endMs: null }, null);
  };
  stream.addEventListener("change", () => { fillVariants(); load(); });
  variant.addEventListener("change", load);
  player.addEventListener("empty", () => {
    overlay.hidden = false;
    overlay.className = "video-overlay";
    replace(overlay, h("strong", {}, "Nothing live on this stream right now."),
      h("div", { class: "small overlay-detail" }, `${player.restreamer} lists no recent video; still asking…`));
  });
  player.addEventListener("levels", () => { if (player.fragments.length) overlay.hidden = true; });
  player.addEventListener("failed", (e) => {
    overlay.hidden = false;
    overlay.className = "video-overlay error";
    replace(overlay, h("strong", {}, e.detail.noData ? "Nothing live on this stream right now." : "Cannot play the live stream."),
      h("div", { class: "small overlay-detail" }, e.detail.message),
      h("button", { type: "button", onclick: () => { overlay.hidden = true; player.retry(); } }, "Try again"));
  });
  let queued = false;
  const tick = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      const ms = player.currentWall();
      clock.textContent = ms === null ? "—" : fmtUtc(ms) + " UTC";
      local.textContent = ms === null ? "" : fmtLocal(ms);
      behind.textContent = ms === null ? "" : `${fmtDuration(Date.now() - ms)} behind real time`;
    });
  };
  player.addEventListener("frame", tick);
  video.addEventListener("timeupdate", tick);

  async function clip() {
    const now = player.currentWall();
    const back = Number(seconds.value);
    if (!(back > 0)) {
      error.textContent = "Give a number of seconds above 0.";
      return;
    }
    const startMs = (now ?? Date.now()) - back * 1000;
    const body = { event_start: toIso(startMs) };
    if (description.value.trim()) body.description = description.value.trim();
    await createAndOpen(ctx, body, clipButton, error);
  }

  const keys = bindKeys([
    { keys: ["c"], label: "Start an event N seconds before the frame on screen", run: () => clip() },
    { keys: ["Space", "k"], label: "Play / pause", run: () => player.togglePlay() },
    { keys: ["Shift+ArrowLeft"], label: "Back 1 second", run: () => player.stepSeconds(-1) },
    { keys: ["j"], label: "Back 10 seconds", run: () => player.stepSeconds(-10) },
    { keys: ["l"], label: "Forward 10 seconds", run: () => player.stepSeconds(10) },
    { keys: ["End"], label: "Go live", run: () => player.goLive() },
  ], "Live page keys");
  cleanup.push(() => keys.detach());
  load();
  return () => cleanup.forEach((fn) => fn());
}
