// The edit page's timeline: the player's window in wall-clock time, with what the archive has
// (runs of video), its holes, the event's start and end, the marked range and the playhead.
// Click or drag to go somewhere; hovering shows the time under the pointer.

import { h, replace } from "./dom.js";
import { fmtRelative, fmtUtc } from "./time.js";

const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

/** Consecutive fragments of one discontinuity run (same `cc`) merged into runs. */
export function runsOf(fragments) {
  const runs = [];
  for (const f of fragments) {
    const last = runs[runs.length - 1];
    if (last && last.cc === f.cc) last.endMs = Math.max(last.endMs, f.endMs);
    else runs.push({ startMs: f.startMs, endMs: f.endMs, cc: f.cc });
  }
  return runs;
}

const MIN_SPAN_MS = 2000; // zoomed in this far, a frame is still a few pixels wide

export class Timeline {
  constructor(onSeek) {
    this.onSeek = onSeek;
    this.view = null; // what is drawn: the window, or the zoomed part of it
    this.full = null; // the last view given to render()
    this.zoom = null; // {startMs, endMs} inside the window, or null for all of it
    this.playheadMs = null;
    this.track = h("div", { class: "tl-track" });
    this.layers = h("div", { class: "tl-layers" });
    this.playhead = h("div", { class: "tl-playhead" });
    this.hover = h("div", { class: "tl-hover", hidden: true });
    this.axis = h("div", { class: "tl-axis" });
    this.track.append(this.layers, this.playhead, this.hover);
    this.el = h("div", { class: "timeline", "aria-label": "timeline: click to go to a time" }, this.track, this.axis);
    let dragging = false;
    const seekAt = (e) => {
      const ms = this._msAt(e.clientX);
      if (ms !== null) this.onSeek(ms);
    };
    this.track.addEventListener("pointerdown", (e) => {
      dragging = true;
      this.track.setPointerCapture(e.pointerId);
      seekAt(e);
    });
    this.track.addEventListener("pointermove", (e) => {
      this._showHover(e.clientX);
      if (dragging) seekAt(e);
    });
    this.track.addEventListener("pointerup", () => { dragging = false; });
    this.track.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoomBy(e.deltaY > 0 ? 1.25 : 0.8, this._msAt(e.clientX));
    }, { passive: false });
    this.track.addEventListener("dblclick", () => this.zoomBy(Infinity));
    this.track.addEventListener("pointerleave", () => { this.hover.hidden = true; });
  }

  _msAt(clientX) {
    if (!this.view) return null;
    const rect = this.track.getBoundingClientRect();
    const x = Math.min(Math.max(clientX - rect.left, 0), rect.width);
    return this.view.startMs + (x / rect.width) * (this.view.endMs - this.view.startMs);
  }

  _pct(ms) {
    const { startMs, endMs } = this.view;
    return Math.min(100, Math.max(0, ((ms - startMs) / (endMs - startMs)) * 100));
  }

  _showHover(clientX) {
    const ms = this._msAt(clientX);
    if (ms === null) return;
    this.hover.hidden = false;
    this.hover.style.left = this._pct(ms) + "%";
    const rel = this.view.eventStartMs !== null ? ` · ${fmtRelative(ms, this.view.eventStartMs)}` : "";
    this.hover.textContent = `${fmtUtc(ms)}${rel}`;
  }

  _span(cls, fromMs, toMs, title) {
    const el = h("div", { class: cls, title: title || null });
    const left = this._pct(fromMs);
    el.style.left = left + "%";
    el.style.width = Math.max(0, this._pct(toMs) - left) + "%";
    return el;
  }

  _line(cls, ms, title) {
    const el = h("div", { class: cls, title: title || null });
    el.style.left = this._pct(ms) + "%";
    return el;
  }

  /**
   * view: {startMs, endMs, eventStartMs, eventEndMs|null, fragments: [{startMs, endMs, cc}],
   *        holes: [{fromMs, toMs}] (inside the marked range), inMs|null, outMs|null,
   *        liveFromMs: where a live window's archive ends so far, or null}
   */
  render(full) {
    if (!(full.endMs > full.startMs)) return;
    this.full = full;
    let view = full;
    if (this.zoom) {
      const span = Math.min(this.zoom.endMs - this.zoom.startMs, full.endMs - full.startMs);
      const startMs = Math.min(Math.max(this.zoom.startMs, full.startMs), full.endMs - span);
      this.zoom = span < full.endMs - full.startMs ? { startMs, endMs: startMs + span } : null;
      if (this.zoom) view = { ...full, ...this.zoom };
    }
    this.view = view;
    this.el.classList.toggle("zoomed", Boolean(this.zoom));
    const layers = [];
    const runs = runsOf(view.fragments.filter((f) => f.endMs > view.startMs && f.startMs < view.endMs));
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i];
      layers.push(this._span("tl-run", run.startMs, run.endMs));
      const next = runs[i + 1];
      if (next && next.startMs <= run.endMs + 1) {
        layers.push(this._line("tl-break", next.startMs, `discontinuity at ${fmtUtc(next.startMs)} (a partial segment)`));
      }
    }
    if (view.liveFromMs !== null && view.liveFromMs !== undefined && view.liveFromMs < view.endMs) {
      layers.push(this._span("tl-future", view.liveFromMs, view.endMs, "not archived yet (live)"));
    }
    if (view.eventStartMs !== null) {
      const end = view.eventEndMs === null ? view.endMs : view.eventEndMs;
      layers.push(this._span("tl-event", view.eventStartMs, end, "the event"));
    }
    if (view.inMs !== null || view.outMs !== null) {
      const from = view.inMs ?? view.startMs;
      const to = view.outMs ?? view.endMs;
      if (to > from) layers.push(this._span("tl-range", from, to));
      if (view.inMs !== null) layers.push(this._line("tl-mark tl-in", view.inMs, `in ${fmtUtc(view.inMs)}`));
      if (view.outMs !== null) layers.push(this._line("tl-mark tl-out", view.outMs, `out ${fmtUtc(view.outMs)}`));
    }
    for (const hole of view.holes) {
      layers.push(hole.toMs - hole.fromMs > 0
        ? this._span("tl-hole", hole.fromMs, hole.toMs, `hole ${fmtUtc(hole.fromMs)}–${fmtUtc(hole.toMs)}`)
        : this._line("tl-hole-line", hole.fromMs, `break at ${fmtUtc(hole.fromMs)}`));
    }
    replace(this.layers, layers);
    this._renderAxis();
  }

  _renderAxis() {
    const { startMs, endMs } = this.view;
    const width = this.track.getBoundingClientRect().width || 800;
    const spanS = (endMs - startMs) / 1000;
    const step = STEPS_S.find((s) => (spanS / s) * 90 <= width) || STEPS_S[STEPS_S.length - 1];
    const ticks = [];
    const first = Math.ceil(startMs / (step * 1000)) * step * 1000;
    for (let ms = first; ms <= endMs; ms += step * 1000) {
      const at = this._pct(ms);
      if (at < 3 || at > 97) continue; // a label there would be cut off
      const tick = h("span", { class: "tl-tick" }, fmtUtc(ms).slice(0, step >= 60 ? 5 : 8));
      tick.style.left = at + "%";
      ticks.push(tick);
    }
    replace(this.axis, ticks);
  }

  /** Zoom by `factor` (< 1: in) around `centerMs` (default: the playhead); Infinity: all. */
  zoomBy(factor, centerMs) {
    if (!this.full) return;
    const { startMs, endMs } = this.view;
    const center = centerMs ?? this.playheadMs ?? (startMs + endMs) / 2;
    const span = Math.max(MIN_SPAN_MS, (endMs - startMs) * factor);
    const start = center - (center - startMs) * (span / (endMs - startMs));
    this.zoom = Number.isFinite(span) ? { startMs: start, endMs: start + span } : null;
    this.render(this.full);
    this.setPlayhead(this.playheadMs);
  }

  setPlayhead(ms) {
    this.playheadMs = ms;
    if (this.zoom && ms !== null && (ms < this.view.startMs || ms > this.view.endMs)) {
      // Playing out of the zoomed part: page along with it.
      const span = this.zoom.endMs - this.zoom.startMs;
      this.zoom = { startMs: ms - span * 0.1, endMs: ms + span * 0.9 };
      this.render(this.full);
    }
    if (!this.view || ms === null) {
      this.playhead.hidden = true;
      return;
    }
    this.playhead.hidden = false;
    this.playhead.style.left = this._pct(ms) + "%";
  }
}
