// The edit page: play the event's window, mark in and out on the frame, fill in the video's
// details, save or submit, and watch the cutter take it to DONE.

import { get, post, put } from "./api.js";
import { ask, checkLink } from "./dialog.js";
import { h, replace } from "./dom.js";
import { buildFields, differences, editDifferences, renderConflict, renderStatus, valuesFromRow } from "./editform.js";
import { bindKeys, kbd } from "./keys.js";
import { holesIn, mark, Player } from "./player.js";
import { EDITABLE, EVENT_FIELDS, MOVING } from "./states.js";
import { Timeline } from "./timeline.js";
import { fmtDuration, fmtLocal, fmtRelative, fmtUtc, parseIso, parseTimeInput, toIso } from "./time.js";

const PAD_MS = 60000; // the window: event start - 1 min to event end + 1 min
// An event without an end plays live (the window grows) while it is recent. One started longer
// ago plays as a finished window of OPEN_SPAN_MS after its start, at most up to a little before
// now (SETTLED_MS: what the restreamer has settled): a live playlist lists only segments that
// arrived on time, which leaves out footage a node backfilled later. ] and the window buttons
// widen it (up to that same point).
const LIVE_RECENT_MS = 30 * 60000;
const OPEN_SPAN_MS = 60 * 60000;
const SETTLED_MS = 15000;
const POLL_MOVING_MS = 2000;
const POLL_IDLE_MS = 10000;

export function mount(main, ctx, id) {
  const view = { stopped: false, cleanup: [] };
  replace(main, h("p", { class: "muted pad" }, "Loading the event…"));
  ctx.prefetched(`/api/events/${encodeURIComponent(id)}`).then(
    (row) => {
      if (view.stopped) return;
      mark("editor:event-loaded");
      build(main, ctx, row, view);
    },
    (e) => {
      if (view.stopped) return;
      if (e.status === 401) return ctx.signedOut();
      replace(main, h("div", { class: "pad" },
        h("h1", {}, e.status === 404 ? "No such event" : "Cannot load the event"),
        h("p", { class: "error" }, e.status === 404 ? `There is no event with id ${id}.` : e.message),
        h("a", { href: "#/events" }, "← Back to the events")));
    });
  return () => {
    view.stopped = true;
    view.cleanup.forEach((fn) => fn());
  };
}

function build(main, ctx, row, view) {
  const config = ctx.config;
  const eventStart = parseIso(row.event_start);
  const eventEnd = parseIso(row.event_end);
  let base = row; // the row the inputs are based on: its version goes with every write
  let latest = row;
  const marks = { inMs: parseIso(row.video_start), outMs: parseIso(row.video_end) };
  const openEvent = eventEnd === null;
  const settledNow = () => Date.now() - SETTLED_MS;
  const win = {
    startMs: eventStart - PAD_MS,
    endMs: !openEvent ? eventEnd + PAD_MS
      : eventStart > Date.now() - LIVE_RECENT_MS ? null : Math.min(eventStart + OPEN_SPAN_MS, settledNow()),
  };
  let preview = null;
  let conflictShown = false;
  let pollTimer = null;
  let busy = false;

  // --- layout -----------------------------------------------------------------------------
  const video = h("video", { class: "video", playsinline: true, preload: "auto" });
  const overlay = h("div", { class: "video-overlay", hidden: true });
  const clockUtc = h("span", { class: "clock-utc mono" }, "—");
  const clockRel = h("span", { class: "clock-rel mono" });
  const clockLocal = h("span", { class: "clock-local mono muted" });
  const fpsInfo = h("span", { class: "muted small fps-info" });
  const liveTag = h("span", { class: "live-tag", hidden: true }, "LIVE");
  const sourceInfo = h("span", { class: "muted small source-info" });
  const playButton = h("button", { type: "button", class: "play", title: "play / pause (Space, K)", onclick: () => togglePlay() }, "▶");
  const muteButton = h("button", { type: "button", title: "sound on / off (M)", onclick: () => toggleMute() }, "Mute");
  const speed = h("select", { class: "speed", title: "playback speed", "aria-label": "playback speed",
    onchange: () => { video.playbackRate = Number(speed.value); speed.blur(); } },
  ["0.25", "0.5", "1", "1.5", "2", "4"].map((r) => h("option", { value: r, selected: r === "1" }, `${r}×`)));
  const tbtn = (text, title, fn) => h("button", { type: "button", title, onclick: fn }, text);

  const timeline = new Timeline((ms) => seekTo(ms));
  const windowInfo = h("span", { class: "mono small" });
  const gotoInput = h("input", { type: "text", class: "mono goto", placeholder: "go to: 13:45:10 · +1:30 · ISO", "aria-label": "go to time" });
  const gotoForm = h("form", {
    class: "goto-form",
    onsubmit: (e) => {
      e.preventDefault();
      const parsed = parseTimeInput(gotoInput.value, eventStart);
      if (parsed.error) return ctx.toast(parsed.error, "error");
      gotoInput.blur();
      goAnywhere(parsed.ms);
    },
  }, gotoInput, h("button", { type: "submit" }, "Go"));

  const markRow = (which) => {
    const utc = h("span", { class: "mono mark-utc" });
    const rel = h("span", { class: "mono mark-rel" });
    const local = h("span", { class: "mono muted mark-local" });
    const key = which === "in" ? "i" : "o";
    return {
      utc, rel, local,
      el: h("div", { class: `mark mark-${which}` },
        h("span", { class: "mark-name" }, which === "in" ? "In" : "Out"),
        h("button", { type: "button", class: "set", title: `set ${which} at the frame on screen (${key.toUpperCase()})`,
          onclick: () => setMark(which) }, `Set ${which} `, kbd(key)),
        h("button", { type: "button", title: `go to the ${which} frame (Shift+${key.toUpperCase()})`,
          onclick: () => goMark(which) }, "Go ", kbd(`Shift+${key}`)),
        h("span", { class: "mark-times" }, utc, rel, local),
        h("button", { type: "button", class: "link clear", title: `clear ${which}`, onclick: () => { marks[`${which}Ms`] = null; marksChanged(); } }, "clear")),
    };
  };
  const inRow = markRow("in");
  const outRow = markRow("out");
  const duration = h("span", { class: "mono duration" });
  const holesNote = h("div", { class: "holes-note", hidden: true });
  const marksNote = h("div", { class: "error small", role: "alert" });

  const fields = buildFields(config, {
    onChange: () => inputsChanged(),
    onSource: () => reload(currentWall()),
    eventStartMs: () => eventStart,
    markMs: (which) => marks[`${which}Ms`],
  });
  const formError = h("p", { class: "error form-error", role: "alert" });
  const dirtyTag = h("span", { class: "dirty", hidden: true }, "unsaved changes");
  const actions = h("div", { class: "buttons actions" });
  const statusBox = h("div", { class: "card status-card" });
  const syncNote = h("p", { class: "error small sync-note", role: "status" });
  let lastSync = Date.now();
  const conflictBox = h("div", { class: "conflict-box" });
  const eventDesc = h("span", { class: "event-desc" });
  const categoryBadge = h("span", { class: "badge category" });

  replace(main, h("section", { class: "edit-page" },
    h("div", { class: "edit-head" },
      h("a", { href: "#/events", class: "back" }, "← Events"),
      h("div", { class: "event-title" },
        eventDesc, categoryBadge),
      h("div", { class: "event-times mono small muted" },
        `event ${fmtUtc(eventStart, true)} → ${eventEnd === null ? "open" : fmtUtc(eventEnd)} UTC`,
        eventEnd !== null ? ` (${fmtDuration(eventEnd - eventStart)})` : ""),
      h("button", { type: "button", class: "link", onclick: () => keys.toggleHelp(), title: "keyboard shortcuts (?)" }, "Keys ", kbd("?"))),
    h("div", { class: "edit-grid" },
      h("div", { class: "left" },
        h("div", { class: "video-box" }, video, overlay),
        h("div", { class: "transport" },
          tbtn("« In", "go to in (Shift+I)", () => goMark("in")),
          tbtn("−10s", "back 10 s (J)", () => seconds(-10)),
          tbtn("−1s", "back 1 s (Shift+←)", () => seconds(-1)),
          tbtn("−1f", "back 1 frame (←)", () => frames(-1)),
          playButton,
          tbtn("+1f", "forward 1 frame (→)", () => frames(1)),
          tbtn("+1s", "forward 1 s (Shift+→)", () => seconds(1)),
          tbtn("+10s", "forward 10 s (L)", () => seconds(10)),
          tbtn("Out »", "go to out (Shift+O)", () => goMark("out")),
          speed, muteButton,
          h("div", { class: "clock" }, clockUtc, h("span", { class: "muted small" }, " UTC "), clockRel, clockLocal),
          liveTag, fpsInfo),
        timeline.el,
        h("div", { class: "window-bar" },
          h("span", { class: "muted small" }, "Window "), windowInfo,
          tbtn("◀ 1 min", "start the window a minute earlier ([)", () => widen(-60000, 0)),
          tbtn("1 min ▶", "end the window a minute later (])", () => widen(0, 60000)),
          tbtn("◀ 10 min", "start the window 10 minutes earlier", () => widen(-600000, 0)),
          tbtn("10 min ▶", "end the window 10 minutes later", () => widen(0, 600000)),
          gotoForm, sourceInfo),
        h("div", { class: "card marks" },
          inRow.el, outRow.el,
          h("div", { class: "mark-summary" },
            h("span", { class: "mark-name" }, "Length"), duration,
            h("button", { type: "button", title: "play exactly the marked range (P)", onclick: () => startPreview() }, "▶ Preview ", kbd("p"))),
          holesNote, marksNote)),
      h("div", { class: "right" },
        h("form", { class: "card edit-form", onsubmit: (e) => { e.preventDefault(); save(true); } },
          h("div", { class: "form-head" }, dirtyTag),
          fields.el, formError, actions),
        statusBox, syncNote, conflictBox))));

  // --- player -----------------------------------------------------------------------------
  const player = new Player(video, config.restreamers);
  view.cleanup.push(() => player.destroy());
  let frameQueued = false;
  const onFrame = () => {
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(() => { frameQueued = false; showClock(); checkPreview(); });
  };
  player.addEventListener("frame", onFrame);
  video.addEventListener("timeupdate", onFrame);
  video.addEventListener("seeked", onFrame);
  video.addEventListener("play", () => { playButton.textContent = "❚❚"; });
  video.addEventListener("pause", () => { playButton.textContent = "▶"; onFrame(); });
  video.addEventListener("waiting", () => showOverlay("Buffering…", false));
  video.addEventListener("playing", () => hideOverlay());
  video.addEventListener("canplay", () => hideOverlay());
  player.addEventListener("levels", () => { showSource(); drawTimeline(); });
  let drawQueued = false;
  player.addEventListener("framerate", () => showSource());
  player.addEventListener("status", (e) => { sourceInfo.textContent = e.detail.text; });
  player.addEventListener("empty", () => showOverlay("No video in this window yet.", false,
    `${player.restreamer} has none archived here so far; still asking…`));
  player.addEventListener("failed", (e) => {
    const { message, noData } = e.detail;
    sourceInfo.textContent = "";
    const end = win.endMs === null ? "now" : `${fmtUtc(win.endMs)} UTC`;
    showOverlay(noData ? `No video between ${fmtUtc(win.startMs)} and ${end} on any restreamer.`
      : "Cannot play this window.", true, message);
  });

  function currentWall() {
    return player.currentWall() ?? marks.inMs ?? eventStart;
  }

  function reload(positionMs) {
    const src = fields.source();
    showOverlay("Loading video…", false);
    player.load({ stream: src.stream, variant: src.variant, startMs: win.startMs, endMs: win.endMs }, positionMs);
    showWindow();
  }

  function showOverlay(text, isError, detail) {
    overlay.hidden = false;
    overlay.className = "video-overlay" + (isError ? " error" : "");
    replace(overlay, h("div", {}, h("strong", {}, text)),
      detail ? h("div", { class: "small overlay-detail" }, detail) : null,
      isError ? h("button", { type: "button", onclick: () => { hideOverlay(); player.retry(); } }, "Try again") : null);
  }

  function hideOverlay() {
    overlay.hidden = true;
  }

  function showSource() {
    const src = fields.source();
    const sound = player.withAudio ? " with its audio rendition" : "";
    sourceInfo.textContent = player.restreamer ? `${src.stream}/${src.variant}${sound} from ${player.restreamer}` : "";
    const fps = 1 / player.frameDuration;
    fpsInfo.textContent = `${Math.abs(fps - Math.round(fps)) < 0.01 ? Math.round(fps) : fps.toFixed(3)} fps` +
      (player.frameMeasured ? "" : " (assumed until the video loads)");
    liveTag.hidden = !player.live;
  }

  function showWindow() {
    const end = win.endMs === null ? "open (live)" : fmtUtc(win.endMs);
    const length = win.endMs === null ? "" : ` (${fmtDuration(win.endMs - win.startMs)})`;
    windowInfo.textContent = `${fmtUtc(win.startMs)} → ${end}${length}`;
  }

  function showClock() {
    const ms = player.currentWall();
    clockUtc.textContent = ms === null ? "—" : fmtUtc(ms);
    clockRel.textContent = ms === null ? "" : fmtRelative(ms, eventStart);
    clockLocal.textContent = ms === null ? "" : fmtLocal(ms);
    timeline.setPlayhead(ms);
  }

  function windowEndForDrawing() {
    if (win.endMs !== null) return win.endMs;
    const frags = player.wallFragments();
    const last = frags.length ? frags[frags.length - 1].endMs : eventStart;
    return Math.max(last, marks.outMs ?? 0, eventStart + 60000) + 15000;
  }

  /** Redraw the timeline and the holes once per animation frame, however often asked. */
  function drawTimeline() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      if (!view.stopped) drawTimelineNow();
    });
  }

  function drawTimelineNow() {
    const frags = player.wallFragments();
    const archivedTo = frags.length ? frags[frags.length - 1].endMs : win.startMs;
    timeline.render({
      liveFromMs: win.endMs === null ? archivedTo : null,
      startMs: win.startMs,
      endMs: windowEndForDrawing(),
      eventStartMs: eventStart,
      eventEndMs: eventEnd,
      fragments: frags,
      holes: markedHoles(frags),
      inMs: marks.inMs,
      outMs: marks.outMs,
    });
    showClock();
    showHoles(frags);
  }

  function markedHoles(frags) {
    if (marks.inMs === null || marks.outMs === null || marks.outMs <= marks.inMs || !player.details) return [];
    return holesIn(frags, marks.inMs, marks.outMs);
  }

  function showHoles(frags) {
    const holes = markedHoles(frags || player.wallFragments());
    holesNote.hidden = !holes.length;
    if (!holes.length) return;
    const missing = holes.reduce((sum, x) => sum + (x.toMs - x.fromMs), 0);
    const breaks = holes.filter((x) => x.toMs <= x.fromMs).length;
    const parts = [];
    if (holes.length > breaks) parts.push(`${holes.length - breaks} hole${holes.length - breaks > 1 ? "s" : ""} (${fmtDuration(missing)} missing)`);
    if (breaks) parts.push(`${breaks} break${breaks > 1 ? "s" : ""} after a damaged segment`);
    replace(holesNote,
      h("strong", {}, "⚠ The marked range has " + parts.join(" and ") + ". "),
      fields.allowHoles.checked
        ? h("span", {}, "\"Allow holes\" is ticked: the cut joins the pieces that exist.")
        : h("span", {}, "Tick \"Allow holes\" to submit it anyway, or move the marks."),
      h("ul", { class: "small mono" }, holes.slice(0, 5).map((x) => h("li", {},
        x.toMs > x.fromMs ? `${fmtUtc(x.fromMs)} – ${fmtUtc(x.toMs)} (${fmtDuration(x.toMs - x.fromMs)})` : `break at ${fmtUtc(x.fromMs)}`))));
    holesNote.classList.toggle("allowed", fields.allowHoles.checked);
  }

  // --- moving around ----------------------------------------------------------------------
  // Player actions run one after another, in the order asked: a mark set just before a step
  // records the frame before the step, even while that frame is still being settled on.
  let turn = Promise.resolve();
  function inTurn(fn) {
    turn = turn.then(() => (view.stopped ? null : fn()))
      .catch((e) => ctx.toast(e.message || String(e), "error"));
    return turn;
  }

  function togglePlay() {
    return inTurn(() => {
      preview = null;
      player.togglePlay();
    });
  }

  function frames(n) {
    return inTurn(() => {
      preview = null;
      player.stepFrames(n);
    });
  }

  function seconds(s) {
    return inTurn(() => player.stepSeconds(s));
  }

  function toggleMute() {
    video.muted = !video.muted;
    muteButton.textContent = video.muted ? "Unmute" : "Mute";
    muteButton.classList.toggle("on", video.muted);
  }

  function seekTo(ms) {
    return inTurn(() => {
      preview = null;
      if (player.seekWall(ms)) ctx.toast(`No video at ${fmtUtc(ms)}: showing the next video after it.`);
    });
  }

  /** Go to any time: widen the window when it lies outside. */
  function goAnywhere(ms) {
    let widened = false;
    if (ms < win.startMs) {
      win.startMs = ms - 30000;
      widened = true;
    }
    if (win.endMs !== null && ms > win.endMs) {
      win.endMs = openEvent ? Math.max(win.endMs, Math.min(ms + 30000, settledNow())) : ms + 30000;
      widened = true;
    }
    if (widened) reload(ms);
    else seekTo(ms);
  }

  function widen(earlierMs, laterMs) {
    win.startMs += earlierMs;
    if (win.endMs !== null) {
      win.endMs += laterMs;
      if (openEvent) win.endMs = Math.min(win.endMs, Math.max(settledNow(), win.startMs + PAD_MS));
    }
    reload(currentWall());
  }

  function goMark(which) {
    const ms = marks[`${which}Ms`];
    if (ms === null) return ctx.toast(`No ${which} point yet: press ${which === "in" ? "I" : "O"} to set it.`);
    goAnywhere(ms);
  }

  function setMark(which) {
    return inTurn(async () => {
      preview = null;
      if (!EDITABLE.has(latest.state)) {
        return ctx.toast(`The event is ${latest.state}: its marks can no longer change.`);
      }
      const ms = await player.settledWall();
      if (ms === null) return ctx.toast("No frame on screen yet.", "error");
      marks[`${which}Ms`] = ms;
      marksChanged();
    });
  }

  function marksChanged() {
    const show = (r, ms) => {
      r.utc.textContent = ms === null ? "not set" : fmtUtc(ms, true) + " UTC";
      r.rel.textContent = ms === null ? "" : fmtRelative(ms, eventStart);
      r.local.textContent = ms === null ? "" : fmtLocal(ms);
    };
    show(inRow, marks.inMs);
    show(outRow, marks.outMs);
    const both = marks.inMs !== null && marks.outMs !== null;
    duration.textContent = both ? fmtDuration(marks.outMs - marks.inMs) : "—";
    marksNote.textContent = both && marks.outMs <= marks.inMs ? "Out is not after In: the clip would be empty." : "";
    drawTimeline();
    inputsChanged();
  }

  // --- preview: exactly the marked range ----------------------------------------------------
  function startPreview() {
    return inTurn(async () => {
      if (marks.inMs === null || marks.outMs === null || marks.outMs <= marks.inMs) {
        return ctx.toast("Set in and out (in before out) to preview.");
      }
      player.video.pause();
      player.seekWall(marks.inMs);
      await player.settledWall();
      preview = { outMs: marks.outMs };
      player.video.play().catch(() => {});
    });
  }

  function checkPreview() {
    if (!preview || player.video.paused || !player.presented) return;
    const wall = player.wallAt(player.presented.mediaTime);
    if (wall === null) return;
    // Stop on the last frame before out (out is where the clip ends).
    if (wall + player.frameDuration * 1000 >= preview.outMs - 0.5) {
      const outMs = preview.outMs;
      preview = null;
      player.video.pause();
      player.seekWall(outMs - player.frameDuration * 1000 * 0.5);
    }
  }

  // --- inputs, saving, state ----------------------------------------------------------------
  function currentValues() {
    return {
      ...fields.values(),
      video_start: marks.inMs === null ? null : toIso(marks.inMs),
      video_end: marks.outMs === null ? null : toIso(marks.outMs),
    };
  }

  function dirty() {
    return differences(valuesFromRow(base, config), currentValues()).length > 0;
  }

  function inputsChanged() {
    dirtyTag.hidden = !dirty();
    const saveButton = actions.querySelector(".save-main");
    if (saveButton && latest.state !== "UNEDITED" && EDITABLE.has(latest.state)) saveButton.textContent = saveLabel();
    showHoles();
  }

  function loadInputs(fromRow) {
    const values = valuesFromRow(fromRow, config);
    fields.set(values);
    marks.inMs = parseIso(values.video_start);
    marks.outMs = parseIso(values.video_end);
    marksChanged();
  }

  function showState() {
    renderStatus(statusBox, latest);
    eventDesc.textContent = latest.description || "(no description)";
    categoryBadge.textContent = latest.category || "";
    categoryBadge.hidden = !latest.category;
    const editable = EDITABLE.has(latest.state);
    fields.setDisabled(!editable);
    main.querySelectorAll(".mark .set, .mark .clear").forEach((b) => { b.disabled = !editable; });
    const buttons = [];
    const button = (text, title, fn, cls) => h("button", { type: "button", class: cls || "", title, disabled: busy, onclick: fn }, text);
    const submitButton = (text, title) => h("button", { type: "submit", class: "primary save-main", disabled: busy, title }, text);
    if (latest.state === "UNEDITED") {
      buttons.push(button("Save draft", "save without submitting (Ctrl+S)", () => save(false)));
      buttons.push(submitButton("Submit", "submit to the cutter (Ctrl+Enter)"));
    } else if (editable) {
      buttons.push(submitButton(saveLabel(), "save; changed video inputs are resubmitted and the cutter takes them (Ctrl+S)"));
      buttons.push(button("Cancel submission", "back to UNEDITED; a cutter working on it abandons the cut", () => cancel()));
    } else {
      buttons.push(submitButton("Save", "save the event's category, description and notes (Ctrl+S)"));
      buttons.push(h("span", { class: "muted small" }, latest.state === "DONE"
        ? "Done: the video inputs are the ones it was cut from."
        : "The upload has started: the video inputs can no longer change."));
    }
    if (ctx.session.admin) {
      if (latest.state === "FINALIZING" || latest.state === "TRANSCODING") {
        buttons.push(button("Reset…", "admin: back to UNEDITED (check first that the upload did not happen)", () => reset(false), "admin-action"));
      }
      if (latest.state === "FINALIZING") {
        buttons.push(button("Retry…", "admin: back to EDITED, cut and upload again", () => reset(true), "admin-action"));
      }
      if (latest.state === "UNEDITED") {
        buttons.push(button("Manual link…", "admin: mark DONE with a link to a video uploaded by hand", () => manualLink(), "admin-action"));
      }
    }
    replace(actions, buttons);
  }

  /** Whether the cut's inputs differ from the saved ones (once submitted: a resubmit). */
  function inputsEdited() {
    return editDifferences(valuesFromRow(base, config), currentValues()).length > 0;
  }

  function saveLabel() {
    return inputsEdited() ? "Save and resubmit" : "Save";
  }

  /**
   * Save the form. Before the first submit: a draft, or the submit. Once submitted, changed
   * video inputs are submitted again (a cutter working on the old ones abandons them); only
   * the event's own fields changed, they are saved alone and the cut goes on undisturbed.
   */
  async function save(submit) {
    if (busy) return;
    const values = currentValues();
    const state = latest.state;
    formError.textContent = "";
    const resubmit = state === "UNEDITED" ? submit : EDITABLE.has(state) && inputsEdited();
    let body = values;
    if (state !== "UNEDITED" && !resubmit) {
      if (!dirty()) return ctx.toast("Nothing to save.");
      body = Object.fromEntries(EVENT_FIELDS.map((f) => [f, values[f]]));
    }
    if (resubmit) {
      const holes = markedHoles(player.wallFragments());
      if (holes.length && !values.allow_holes) {
        formError.textContent = "The marked range has holes: tick \"Allow holes\" to submit it, or move the marks.";
        fields.allowHoles.focus();
        return;
      }
    }
    const done = resubmit ? (state === "UNEDITED" ? "Submitted: waiting for a cutter." : "Resubmitted: the cutter takes the new inputs.")
      : state === "UNEDITED" ? "Draft saved." : "Saved.";
    await write(() => put(`/api/events/${encodeURIComponent(base.id)}`, { version: base.version, ...body, submit: resubmit }),
      done, () => save(submit));
  }

  async function act(action, extra) {
    await write(() => post(`/api/events/${encodeURIComponent(base.id)}/${action}`, { version: base.version, ...(extra || {}) }),
      { cancel: "Cancelled: back to UNEDITED.", reset: extra && extra.retry ? "Back to EDITED: a cutter will retry." : "Reset: back to UNEDITED." }[action] || "Done.",
      () => act(action, extra), true);
  }

  /** Back to UNEDITED; a cut already running is abandoned, so that one asks first. */
  async function cancel() {
    if (latest.state === "CLAIMED") {
      const answer = await ask({
        title: "Cancel a running cut?",
        text: `Cutter ${latest.uploader || "(unknown)"} is cutting this event now: it abandons the cut, ` +
          "and the event goes back to UNEDITED with its inputs kept.",
        confirm: "Cancel the cut", danger: true,
      });
      if (!answer) return;
    }
    await act("cancel");
  }

  async function reset(retry) {
    const answer = await ask(retry ? {
      title: "Retry the upload?",
      text: `The event goes back to EDITED and a cutter cuts and uploads it again. If the upload ` +
        `that was running (${latest.uploader || "cutter unknown"}) did reach the video site, it will be there twice.`,
      confirm: "Retry",
    } : {
      title: "Reset the event?",
      text: "The event goes back to UNEDITED, its upload forgotten. Check first on the video site " +
        "that the upload did not happen: a video that did would stay there without a link here.",
      confirm: "Reset", danger: true,
    });
    if (!answer) return;
    await act("reset", retry ? { retry: true } : undefined);
  }

  async function manualLink() {
    const answer = await ask({
      title: "Link a video uploaded by hand",
      text: "The event becomes DONE with this link (location \"manual\"); no cutter will cut it.",
      inputs: [
        { name: "link", label: "Link to the video", type: "url", placeholder: "https://", required: true, check: checkLink },
        { name: "video_id", label: "Video id (optional)", placeholder: "the video site's id" },
      ],
      confirm: "Mark DONE",
    });
    if (!answer) return;
    const body = { version: base.version, link: answer.link };
    if (answer.video_id) body.video_id = answer.video_id;
    await write(() => post(`/api/events/${encodeURIComponent(base.id)}/manual-link`, body),
      "Marked DONE with the manual link.", () => manualLink(), true);
  }

  /** A write with the base version; a 409 shows the difference and keeps every input. */
  async function write(request, okMessage, again, keepInputs = false) {
    busy = true;
    showState();
    try {
      const result = await request();
      const fresh = result && result.version !== undefined ? result : await get(`/api/events/${encodeURIComponent(base.id)}`);
      const typed = currentValues();
      base = latest = fresh;
      clearConflict();
      if (keepInputs && differences(valuesFromRow(fresh, config), typed).length) {
        // An action (cancel, reset) keeps what the editor typed but has not saved.
      } else loadInputs(fresh);
      ctx.toast(okMessage, "ok");
      if (momentMoved(fresh) && !dirty()) reopen();
    } catch (e) {
      if (e.status === 401) ctx.signedOut();
      else if (e.status === 409) await showConflict(e.message, again, e.body);
      else {
        formError.textContent = e.message;
        ctx.toast(e.message, "error");
      }
    } finally {
      busy = false;
      if (!view.stopped) {
        showState();
        inputsChanged();
      }
    }
  }

  async function showConflict(message, again, body) {
    let theirs = body && body.event && body.event.version !== undefined ? body.event : null;
    if (!theirs) {
      try {
        theirs = await get(`/api/events/${encodeURIComponent(base.id)}`);
      } catch (e) {
        formError.textContent = `${message} (and the current version cannot be loaded: ${e.message})`;
        return;
      }
    }
    latest = theirs;
    conflictShown = true;
    const values = { base: valuesFromRow(base, config), theirs: valuesFromRow(theirs, config), mine: currentValues() };
    replace(conflictBox, renderConflict(message, theirs, values, {
      mine: () => { base = theirs; clearConflict(); again(); },
      theirs: () => {
        base = latest = theirs;
        clearConflict();
        loadInputs(theirs);
        showState();
        if (momentMoved(theirs)) reopen();
      },
    }));
    conflictBox.scrollIntoView({ block: "nearest" });
    showState();
  }

  /** Whether the event's start or end is no longer the one this page was built for. */
  function momentMoved(fresh) {
    return parseIso(fresh.event_start) !== eventStart || parseIso(fresh.event_end) !== eventEnd;
  }

  /** Build the page again for the event's new times (its window, clocks and timeline). */
  function reopen() {
    setTimeout(() => { if (!view.stopped) ctx.go(window.location.hash); }, 0);
  }

  function clearConflict() {
    conflictShown = false;
    replace(conflictBox);
  }

  /** Watch the row: the cutter's moves update the state; someone else's edit is a conflict. */
  async function poll() {
    clearTimeout(pollTimer);
    if (view.stopped) return;
    try {
      const fresh = await get(`/api/events/${encodeURIComponent(base.id)}`);
      if (view.stopped) return;
      if (fresh.version !== latest.version) {
        const theirChanges = differences(valuesFromRow(base, config), valuesFromRow(fresh, config));
        latest = fresh;
        if (!theirChanges.length) base = fresh; // only the state moved: nothing of ours to lose
        else if (!dirty()) {
          base = fresh;
          loadInputs(fresh);
          ctx.toast(`${fresh.editor || "Someone"} changed this event; the form shows their version.`);
          if (momentMoved(fresh)) reopen();
        } else if (!conflictShown && !busy) {
          await showConflict(`${fresh.editor || "Someone"} saved this event while you were editing it.`, () => save(latest.state === "UNEDITED" ? false : true));
        }
        showState();
        inputsChanged();
      } else if (JSON.stringify(fresh.progress) !== JSON.stringify(latest.progress)) {
        // The cutter's progress is kept apart from the row: it moves without a new version.
        latest = { ...latest, progress: fresh.progress };
        renderStatus(statusBox, latest);
      }
      lastSync = Date.now();
      syncNote.textContent = "";
    } catch (e) {
      if (e.status === 401) return ctx.signedOut();
      syncNote.textContent = `Cannot check the event's state: ${e.message}. ` +
        `Shown as of ${fmtUtc(lastSync)} UTC; still trying.`;
    }
    if (!view.stopped) pollTimer = setTimeout(poll, MOVING.has(latest.state) ? POLL_MOVING_MS : POLL_IDLE_MS);
  }

  // --- keyboard -------------------------------------------------------------------------------
  const keys = bindKeys([
    { keys: ["Space", "k"], label: "Play / pause", run: () => togglePlay() },
    { keys: ["ArrowLeft", ","], label: "Back one frame", run: () => frames(-1) },
    { keys: ["ArrowRight", "."], label: "Forward one frame", run: () => frames(1) },
    { keys: ["Shift+ArrowLeft"], label: "Back 1 second", run: () => seconds(-1) },
    { keys: ["Shift+ArrowRight"], label: "Forward 1 second", run: () => seconds(1) },
    { keys: ["j"], label: "Back 10 seconds", run: () => seconds(-10) },
    { keys: ["l"], label: "Forward 10 seconds", run: () => seconds(10) },
    { keys: ["i"], label: "Set in at the frame on screen", run: () => setMark("in") },
    { keys: ["o"], label: "Set out at the frame on screen (the clip ends as it begins)", run: () => setMark("out") },
    { keys: ["Shift+i"], label: "Go to in", run: () => goMark("in") },
    { keys: ["Shift+o"], label: "Go to out", run: () => goMark("out") },
    { keys: ["p"], label: "Preview exactly the marked range", run: () => startPreview() },
    { keys: ["m"], label: "Sound on / off", run: () => toggleMute() },
    { keys: ["["], label: "Start the window a minute earlier", run: () => widen(-60000, 0) },
    { keys: ["]"], label: "End the window a minute later", run: () => widen(0, 60000) },
    { keys: ["=", "+"], label: "Zoom the timeline in (or the mouse wheel on it)", run: () => timeline.zoomBy(0.5) },
    { keys: ["-"], label: "Zoom the timeline out (double-click on it: all of the window)", run: () => timeline.zoomBy(2) },
    { keys: ["g"], label: "Go to a time (type it)", run: () => { gotoInput.focus(); gotoInput.select(); } },
    { keys: ["Ctrl+s"], label: "Save (draft, or resubmit once submitted)", inInputs: true, run: () => save(false) },
    { keys: ["Ctrl+Enter"], label: "Submit", inInputs: true, run: () => save(true) },
    { keys: ["Escape"], label: "Stop the preview / leave a field", run: () => { if (preview) { preview = null; player.pause(); } } },
  ], "Edit page keys");
  view.cleanup.push(() => keys.detach());

  const beforeUnload = (e) => {
    if (dirty()) {
      e.preventDefault();
      e.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);
  ctx.guardLeaving(() => (dirty() ? "Your changes to this event are not saved yet. Save them first (Ctrl+S), or leave and lose them." : null));
  view.cleanup.push(() => window.removeEventListener("beforeunload", beforeUnload));
  view.cleanup.push(() => clearTimeout(pollTimer));

  // --- start ----------------------------------------------------------------------------------
  if (marks.inMs !== null && marks.inMs < win.startMs) win.startMs = marks.inMs - 5000;
  if (win.endMs !== null && marks.outMs !== null && marks.outMs > win.endMs) win.endMs = marks.outMs + 5000;
  loadInputs(row);
  showState();
  if (!fields.source().stream) {
    showOverlay("The editor knows no stream to play yet.", true,
      `${config.streams_error || "the restreamers listed none"}; reload the page in a moment.`);
  } else reload(marks.inMs ?? eventStart);
  pollTimer = setTimeout(poll, MOVING.has(latest.state) ? POLL_MOVING_MS : POLL_IDLE_MS);
  const onResize = () => drawTimeline();
  window.addEventListener("resize", onResize);
  view.cleanup.push(() => window.removeEventListener("resize", onResize));
}
