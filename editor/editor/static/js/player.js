// The video player: hls.js on a <video>, plus what an editor needs on top of it:
// - the wall-clock (UTC) time of the frame on screen, from #EXT-X-PROGRAM-DATE-TIME: a frame's
//   time is its fragment's PDT plus its presentation time after the fragment's first video
//   frame (the cutter maps times to frames the same way: the first video timestamp of a
//   segment is the segment's start);
// - frame stepping, and the exact presentation time of the frame on screen
//   (requestVideoFrameCallback's mediaTime), so a mark is the frame the editor sees;
// - the restreamers in order: when one fails, the next one, at the same wall-clock time;
// - where the playlist has holes (its #EXT-X-DISCONTINUITY tags, which hls.js counts in `cc`);
// - the stream's own frame rate (from the frames hls.js parses), for stepping frame by frame;
// - sound: a variant whose audio is a separate rendition (common/renditions.py: the restreamer
//   serves its variant.json) plays from the restreamer's master playlist, picture and sound.

const SEEK_INTO = 0.001; // seek this far into a frame, so rounding never shows the one before
const SNAP_SLACK = 0.002; // a time this close before a frame start belongs to that frame
const DEFAULT_FRAME = 1 / 30; // only until the first fragment is parsed
// Nominal frame rates: a measured rate within 0.03 % of one of these (the nearest) is taken to
// be it exactly (30 and 29.97 are 0.1 % apart).
const FRAME_RATES = [24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 100, 120];
const LIVE_WINDOW_HOURS = 6; // an open window asks for this much future (the list only grows)
const NO_VIDEO = "no video in this window";
const INFO_TIMEOUT_MS = 5000; // a variant.json is a few bytes

let Hls = window.Hls;

/** hls.js loads asynchronously (index.html) -> the global `Hls` once it is there, or null if
 * its script failed or did not arrive within 20 s. */
function hlsLoaded() {
  if (window.Hls) return Promise.resolve(window.Hls);
  const script = document.getElementById("hls-script");
  if (!script) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = () => resolve(window.Hls || null);
    script.addEventListener("load", done, { once: true });
    script.addEventListener("error", done, { once: true });
    setTimeout(done, 20000);
  });
}

function loadPolicy(firstByteMs, loadMs, retries) {
  const retry = { maxNumRetry: retries, retryDelayMs: 500, maxRetryDelayMs: 4000 };
  return { default: { maxTimeToFirstByteMs: firstByteMs, maxLoadTimeMs: loadMs, timeoutRetry: retry, errorRetry: retry } };
}

function trimSlash(url) {
  return String(url).replace(/\/+$/, "");
}

function isoMs(ms) {
  return new Date(Math.floor(ms)).toISOString();
}

/** A performance mark, once per page (bench/editor.py reads them: where the first frame's time goes). */
export function mark(name) {
  if (!performance.getEntriesByName(name).length) performance.mark(name);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function rangeQuery(source, now) {
  const end = source.endMs === null ? Math.max(now, source.startMs) + LIVE_WINDOW_HOURS * 3600e3 : source.endMs;
  const start = source.startMs === null ? null : source.startMs;
  const params = new URLSearchParams();
  if (start !== null) params.set("start", isoMs(start));
  if (start !== null || source.endMs !== null) params.set("end", isoMs(end));
  const text = params.toString();
  return text ? "?" + text : "";
}

/** The variant's own (media) playlist over the source's window. */
export function playlistUrl(base, source, now = Date.now()) {
  const path = `/playlist/${encodeURIComponent(source.stream)}/${encodeURIComponent(source.variant)}.m3u8`;
  return trimSlash(base) + path + rangeQuery(source, now);
}

/** The stream's master playlist over the same window: its variants with their audio groups. */
export function masterUrl(base, source, now = Date.now()) {
  return trimSlash(base) + `/playlist/${encodeURIComponent(source.stream)}.m3u8` + rangeQuery(source, now);
}

/** Whether a variant.json (common/renditions.py) says the variant's sound is a rendition of
 * its own. */
export function hasAudioGroup(info) {
  return Boolean(info && Array.isArray(info.audio) && info.audio.length);
}

/**
 * The number of samples (for video: frames) in a media segment as hls.js appends it to the
 * buffer (ISO BMFF moof + mdat): the sample_count of each track run (trun) in the moof. Reads
 * box headers only; anything unexpected counts nothing.
 */
export function sampleCount(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at) => String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
  let count = 0;
  const walk = (from, to) => {
    for (let at = from; at + 8 <= to;) {
      const size = view.getUint32(at);
      if (size < 8 || at + size > to) return;
      const name = type(at);
      if (name === "moof" || name === "traf") walk(at + 8, at + size);
      else if (name === "trun" && size >= 16) count += view.getUint32(at + 12); // after version+flags
      at += size;
    }
  };
  walk(0, bytes.byteLength);
  return count;
}

/** Frame duration (s) from `count` frames spanning `seconds`, snapped to a nominal rate when it
 * is one; null when the numbers say nothing (too few frames, absurd rates). */
export function frameDurationOf(seconds, count) {
  if (!(count >= 2 && seconds > 0)) return null;
  const duration = seconds / count;
  if (!(duration > 0.004 && duration < 0.2)) return null;
  const rate = 1 / duration;
  const off = (r) => Math.abs(r - rate) / r;
  const nearest = FRAME_RATES.reduce((a, b) => (off(b) < off(a) ? b : a));
  return off(nearest) < 0.0003 ? 1 / nearest : duration;
}

/**
 * Holes of a list of fragments inside [fromMs, toMs): uncovered time at either end, gaps
 * between fragments, and discontinuities without a gap (after a partial segment), which the
 * cutter refuses as well unless holes are allowed. -> [{fromMs, toMs}] (toMs may equal fromMs).
 */
export function holesIn(fragments, fromMs, toMs) {
  const inside = fragments.filter((f) => f.endMs > fromMs && f.startMs < toMs);
  if (!inside.length) return [{ fromMs, toMs }];
  const holes = [];
  if (inside[0].startMs > fromMs) holes.push({ fromMs, toMs: inside[0].startMs });
  for (let i = 1; i < inside.length; i++) {
    const a = inside[i - 1];
    const b = inside[i];
    // The restreamer marks every gap with a discontinuity: the same `cc` means contiguous.
    if (b.cc !== a.cc) holes.push({ fromMs: a.endMs, toMs: Math.max(a.endMs, b.startMs) });
  }
  const last = inside[inside.length - 1];
  if (last.endMs < toMs) holes.push({ fromMs: last.endMs, toMs });
  return holes;
}

export class Player extends EventTarget {
  constructor(video, urls, options = {}) {
    super();
    this.video = video;
    this.urls = (urls || []).map(trimSlash).filter(Boolean);
    this.urlIndex = 0;
    this.failures = [];
    this.hls = null;
    this.details = null;
    this.source = null;
    this.presented = null;
    this.presentedFresh = false;
    this.pendingFrame = null;
    this.seekTarget = null;
    this.samples = [];
    this.frameKey = null;
    this.frameDuration = DEFAULT_FRAME;
    this.frameMeasured = false;
    this.frameFromFragments = [];
    this.withAudio = false; // playing from the master playlist, with a separate audio rendition
    this.audioInfo = new Map(); // variant.json URL -> Promise<bool> (one per restreamer and variant)
    this.firstFrame = false;
    this.destroyed = false;
    this.autoLive = Boolean(options.live);
    this._waiters = [];
    video.addEventListener("seeked", () => {
      if (this.details) this.arriving = false;
      this._wake();
    });
    video.addEventListener("play", () => { this.seekTarget = null; this.presentedFresh = false; });
    // Paused, the picture must sit on a whole frame whose presentation the page has seen: the
    // last frame reported while playing may not be the one left on screen.
    video.addEventListener("pause", () => {
      if (this.pendingFrame === null && this.details) this._seekMedia(this.snap(video.currentTime));
      this._wake();
    });
    this._watchFrames();
  }

  // --- loading --------------------------------------------------------------------------

  /** Play `source` ({stream, variant, startMs, endMs|null}) from wall-clock positionMs. */
  load(source, positionMs) {
    this.source = { ...source };
    this.failures = [];
    this.urlIndex = 0;
    this.samples = [];
    this.frameKey = `editor.frame.${source.stream}.${source.variant}`;
    const stored = Number(window.localStorage.getItem(this.frameKey));
    this.frameDuration = stored > 0 && stored < 0.2 ? stored : DEFAULT_FRAME;
    this.frameMeasured = false;
    this.frameFromFragments = [];
    this._start(positionMs);
  }

  retry() {
    this.failures = [];
    this._start(this.currentWall() ?? this.startPositionMs);
  }

  get restreamer() {
    return this.urls[this.urlIndex] || null;
  }

  _start(positionMs) {
    this._teardown();
    const serial = (this._serial = (this._serial || 0) + 1);
    this.startPositionMs = positionMs;
    this.details = null;
    this.arriving = true; // until this load's first frame is on screen
    if (!this.urls.length) {
      this._fail("the editor server lists no restreamer URL (--restreamer-url)");
      return;
    }
    // Both at once: the variant.json answer and hls.js (which loads async).
    const audio = this._audioGroup(this.restreamer, this.source);
    const loaded = Hls ? Promise.resolve(Hls) : hlsLoaded();
    Promise.all([loaded, audio]).then(([hls, withAudio]) => {
      if (this.destroyed || serial !== this._serial) return;
      Hls = hls;
      if (!Hls) this._fail("the video player (hls.js) did not load: reload the page");
      else if (!Hls.isSupported()) this._fail("this browser cannot play HLS with hls.js (Media Source Extensions missing)");
      else this._open(positionMs, withAudio);
    });
  }

  /** Whether the variant plays with a separate audio rendition, by its variant.json on this
   * restreamer (404: it has none, the usual kind). Asked once per restreamer and variant. */
  _audioGroup(base, source) {
    const url = `${trimSlash(base)}/variant/${encodeURIComponent(source.stream)}/${encodeURIComponent(source.variant)}.json`;
    if (!this.audioInfo.has(url)) {
      // No answer in time (or none at all): the playlist's own error and failover take over.
      // Only a clear answer is kept (a variant without the file: 404); any other failure is
      // asked again on the next load.
      const answer = fetch(url, { cache: "no-store", signal: AbortSignal.timeout(INFO_TIMEOUT_MS) })
        .then((response) => {
          if (response.ok) return response.json();
          if (response.status === 404) return null;
          throw new Error(`HTTP ${response.status}`);
        })
        .then(hasAudioGroup, () => {
          this.audioInfo.delete(url);
          return false;
        });
      this.audioInfo.set(url, answer);
    }
    return this.audioInfo.get(url);
  }

  _open(positionMs, withAudio) {
    this.withAudio = withAudio;
    const url = withAudio ? masterUrl(this.restreamer, this.source) : playlistUrl(this.restreamer, this.source);
    this.playlist = url;
    const hls = new Hls({
      autoStartLoad: false,
      maxBufferLength: 20,
      maxMaxBufferLength: 60,
      backBufferLength: 90,
      // Fail over to the next restreamer quickly rather than retry one for long.
      manifestLoadPolicy: loadPolicy(10000, 20000, 1),
      playlistLoadPolicy: loadPolicy(10000, 20000, 2),
      fragLoadPolicy: loadPolicy(10000, 60000, 2),
      liveDurationInfinity: true,
      enableWorker: false,
      capLevelToPlayerSize: false,
      // No interstitials here; hls.js 1.7's controller for them restarts loading from the
      // media's position (0) when the media source opens after startLoad(position), which
      // loses the start position now and then.
      interstitialsController: undefined,
    });
    this.hls = hls;
    const E = Hls.Events;
    let started = false;
    // The frame rate, from each video fragment as hls.js buffers it (before it plays): its
    // frames (counted in what hls.js appends) over its presentation time.
    const frames = new Map(); // main fragment sn -> frames appended so far
    hls.on(E.FRAG_LOADING, (event, data) => {
      if (data.frag.type === "main") frames.delete(data.frag.sn); // (again, after a restart): afresh
    });
    hls.on(E.BUFFER_APPENDING, (event, data) => {
      if (hls !== this.hls || data.type !== "video" || !data.frag || !data.data) return;
      if (frames.size > 16) frames.clear(); // aborted fragments never report buffered
      frames.set(data.frag.sn, (frames.get(data.frag.sn) || 0) + sampleCount(data.data));
    });
    hls.on(E.FRAG_BUFFERED, (event, data) => {
      if (data.frag.type !== "main") return; // an audio rendition's fragment: its sn is its own
      const count = frames.get(data.frag.sn);
      frames.delete(data.frag.sn);
      const video = data.frag.elementaryStreams && data.frag.elementaryStreams.video;
      if (hls === this.hls && count && video) this._fragmentFrames(video.endPTS - video.startPTS, count);
    });
    const onLevel = (event, data) => {
      if (hls !== this.hls) return;
      mark("editor:playlist-loaded");
      this.details = data.details;
      if (!started) {
        started = true;
        const fragments = data.details.fragments;
        if (!fragments.length) {
          this._onError(hls, { fatal: true, details: Hls.ErrorDetails.LEVEL_EMPTY_ERROR });
          return;
        }
        const live = this.autoLive && data.details.live;
        const target = live ? -1 : this.mediaAt(positionMs ?? this.wallOf(fragments[0]).startMs);
        // From a master playlist this restarts the loading begun below, before any fragment.
        hls.startLoad(live ? -1 : Math.max(0, target.t + SEEK_INTO));
      }
      this._emit("levels");
    };
    hls.on(E.LEVEL_LOADED, onLevel);
    hls.on(E.LEVEL_UPDATED, onLevel);
    if (withAudio) {
      // The master lists every variant: play the chosen one (never another: it is what is cut),
      // with its audio group. Loading must start for hls.js to fetch the variant's playlist.
      hls.on(E.MANIFEST_PARSED, (event, data) => {
        if (hls !== this.hls) return;
        const index = data.levels.findIndex((level) => level.name === this.source.variant ||
          String(level.url).split("?")[0].endsWith(`/${encodeURIComponent(this.source.variant)}.m3u8`));
        if (index < 0) {
          this._onError(hls, { fatal: true, details: "noSuchVariant" });
          return;
        }
        hls.startLevel = index;
        hls.loadLevel = index;
        hls.startLoad(-1);
      });
    }
    hls.on(E.FRAG_LOADED, () => mark("editor:first-fragment-loaded"));
    hls.on(E.FRAG_BUFFERED, () => {
      mark("editor:first-fragment-buffered");
      this._emit("levels");
    });
    hls.on(E.ERROR, (event, data) => this._onError(hls, data));
    mark("editor:player-start");
    hls.attachMedia(this.video);
    hls.loadSource(url);
    this._emit("status", { text: `loading from ${this.restreamer}` });
  }

  /** A video fragment's frames: `count` spanning `seconds` of presentation time. */
  _fragmentFrames(seconds, count) {
    const duration = frameDurationOf(seconds, count);
    if (duration === null) return;
    const seen = this.frameFromFragments;
    seen.push(duration);
    if (seen.length > 9) seen.shift();
    this._setFrameDuration(median(seen));
  }

  _setFrameDuration(duration) {
    if (this.frameMeasured && Math.abs(duration - this.frameDuration) < 1e-6) return;
    this.frameDuration = duration;
    this.frameMeasured = true;
    if (this.frameKey) window.localStorage.setItem(this.frameKey, String(duration));
    this._emit("framerate");
  }

  async _onError(hls, data) {
    if (hls !== this.hls) return;
    if (!data.fatal) {
      if (data.details === "bufferStalledError") this._emit("status", { text: "buffering…" });
      // A live playlist with nothing in it yet: hls.js keeps asking; say so meanwhile.
      if (data.details === Hls.ErrorDetails.LEVEL_EMPTY_ERROR) this._emit("empty");
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !this._recovered) {
      this._recovered = true;
      hls.recoverMediaError();
      return;
    }
    const where = this.restreamer;
    const why = await this._describe(data);
    if (hls !== this.hls) return;
    this.failures.push({ url: where, reason: why });
    if (this.failures.length < this.urls.length) {
      const position = this.currentWall() ?? this.startPositionMs;
      this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      this._emit("status", { text: `${where} failed (${why}); trying ${this.restreamer}` });
      this._start(position);
      return;
    }
    const noData = this.failures.some((f) => f.reason === NO_VIDEO); // the others did not answer
    this._fail(this.failures.map((f) => `${f.url}: ${f.reason}`).join("; "), noData);
  }

  async _describe(data) {
    const code = data.response && data.response.code;
    if (data.details === Hls.ErrorDetails.LEVEL_EMPTY_ERROR) return NO_VIDEO;
    if (data.details === "noSuchVariant") return NO_VIDEO; // none of the variant in the window
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const url = (data.context && data.context.url) || (data.frag && data.frag.url) || this.playlist;
      // The master playlist of a window without video is a 404 (a media playlist is empty).
      if (this.withAudio && code === 404 && url === this.playlist) return NO_VIDEO;
      if (code) {
        let text = "";
        try {
          const response = await fetch(url, { cache: "no-store" });
          text = (await response.text()).split("\n")[0].trim().slice(0, 300);
        } catch (e) {
          text = "";
        }
        return `HTTP ${code}${text ? ": " + text : ""}`;
      }
      if (/TimeOut/i.test(data.details)) return "no answer in time";
      return "cannot connect";
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) return `the browser cannot decode this video (${data.details})`;
    return `${data.details}${data.error && data.error.message ? ": " + data.error.message : ""}`;
  }

  _fail(message, noData = false) {
    this._emit("failed", { message, noData });
  }

  _teardown() {
    this._recovered = false;
    if (this.hls) {
      const hls = this.hls;
      this.hls = null;
      hls.destroy();
    }
  }

  destroy() {
    this.destroyed = true;
    this._teardown();
    this._wake();
  }

  // --- frames and time ------------------------------------------------------------------

  _watchFrames() {
    const video = this.video;
    if (!video.requestVideoFrameCallback) return;
    const onFrame = (now, meta) => {
      if (this.destroyed) return;
      const previous = this.presented;
      this.presented = { mediaTime: meta.mediaTime, frames: meta.presentedFrames };
      // Paused after a seek of ours: is this the frame holding the seek's target? (A frame
      // reported late from before the seek is not; the frame may come before "seeked".)
      // Before the frame rate is known (nothing parsed or played yet, so no late frames) be
      // lenient: up to a 22 fps frame.
      const target = this.seekTarget;
      const within = this.frameMeasured ? this.frameDuration : 0.045;
      if (video.paused && target !== null && meta.mediaTime <= target + 0.0005 &&
          target - meta.mediaTime < within) {
        this.presentedFresh = true;
      }
      if (previous && !video.paused && video.playbackRate === 1 && meta.presentedFrames === previous.frames + 1) {
        this._measure(meta.mediaTime - previous.mediaTime);
      }
      if (this.details) this.arriving = false;
      if (!this.firstFrame) {
        this.firstFrame = true;
        mark("editor:first-frame");
        this._emit("firstframe");
      }
      this._wake();
      this._emit("frame");
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  /** Frame durations seen while playing: the rate only where hls.js reported no fragment's. */
  _measure(delta) {
    if (this.frameFromFragments.length || !(delta > 0.004 && delta < 0.2)) return;
    this.samples.push(delta);
    if (this.samples.length > 41) this.samples.shift();
    if (this.samples.length >= 5) {
      const fd = median(this.samples);
      if (!this.frameMeasured || Math.abs(fd - this.frameDuration) > 1e-4) this._setFrameDuration(fd);
    }
  }

  _wake() {
    const waiters = this._waiters;
    this._waiters = [];
    waiters.forEach((resolve) => resolve());
  }

  _nextEvent(timeoutMs) {
    return new Promise((resolve) => {
      this._waiters.push(resolve);
      setTimeout(resolve, timeoutMs);
    });
  }

  get fragments() {
    return this.details ? this.details.fragments : [];
  }

  get live() {
    return Boolean(this.details && this.details.live);
  }

  /** Where a fragment's first video frame sits on the media timeline. */
  _origin(frag) {
    const video = frag.elementaryStreams && frag.elementaryStreams.video;
    return video && Number.isFinite(video.startPTS) ? video.startPTS : frag.start;
  }

  wallOf(frag) {
    const startMs = frag.programDateTime;
    return { startMs, endMs: startMs + frag.duration * 1000, cc: frag.cc };
  }

  /** Fragments in wall-clock time: [{startMs, endMs, cc}]. A fragment ends where the next one
   * of the same discontinuity run starts (its parsed media duration may differ from its
   * EXTINF by a few ms, which must not look like a hole). */
  wallFragments() {
    const frags = this.fragments.filter((f) => f.programDateTime !== null).map((f) => this.wallOf(f));
    for (let i = 0; i + 1 < frags.length; i++) {
      if (frags[i + 1].cc === frags[i].cc) frags[i].endMs = frags[i + 1].startMs;
    }
    return frags;
  }

  _fragmentAtMedia(t) {
    const frags = this.fragments;
    let lo = 0;
    let hi = frags.length - 1;
    let found = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (frags[mid].start <= t + 1e-6) {
        found = frags[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found || frags[0] || null;
  }

  /** Wall-clock ms of media time t, or null while nothing is known. */
  wallAt(t) {
    const frag = this._fragmentAtMedia(t);
    if (!frag || frag.programDateTime === null) return null;
    return frag.programDateTime + (t - this._origin(frag)) * 1000;
  }

  /** Media time of wall-clock ms -> {t, hole}: in a hole, the start of the next fragment. */
  mediaAt(ms) {
    const frags = this.fragments.filter((f) => f.programDateTime !== null);
    if (!frags.length) return { t: 0, hole: true };
    let prev = null;
    for (const frag of frags) {
      if (frag.programDateTime > ms) {
        if (prev && ms < prev.programDateTime + prev.duration * 1000) break;
        return { t: this._origin(frag), hole: true };
      }
      prev = frag;
    }
    const end = prev.programDateTime + prev.duration * 1000;
    const t = this._origin(prev) + (ms - prev.programDateTime) / 1000;
    return { t: ms >= end ? this._origin(prev) + prev.duration - this.frameDuration / 2 : t, hole: ms >= end };
  }

  /** The start of the frame holding media time t (on the fragment's frame grid). */
  snap(t) {
    const frag = this._fragmentAtMedia(t);
    const origin = frag ? this._origin(frag) : 0;
    const fd = this.frameDuration;
    return origin + Math.floor((t - origin + SNAP_SLACK) / fd) * fd;
  }

  /** Media time of the frame on screen (exact once the frame is presented). */
  get frameTime() {
    if (this.pendingFrame !== null) return this.pendingFrame;
    if (this.presentedFresh && this.presented) return this.presented.mediaTime;
    return this.snap(this.video.currentTime);
  }

  currentWall() {
    // Loading, the media's clock is not yet where the load is going (it sits at 0 until the
    // first fragment is in): the position is the one asked for.
    if (this.arriving) return this.startPositionMs ?? null;
    if (!this.details || !this.video.readyState) return null;
    const t = this.video.paused ? this.frameTime : this.video.currentTime;
    return this.wallAt(t);
  }

  /** Pause, settle on a whole frame, and give its wall-clock ms (what a mark records). */
  async settledWall() {
    const video = this.video;
    this.pause();
    // Where the frame on screen is not one of our seeks (just loaded, say): settle on one.
    if (!this.presentedFresh && this.pendingFrame === null && this.details) {
      this._seekMedia(this.snap(video.currentTime));
    }
    const deadline = performance.now() + 2000;
    while (performance.now() < deadline && !this.destroyed) {
      if (!video.seeking && this.presentedFresh && this.pendingFrame === null && this.presented) {
        return this.wallAt(this.presented.mediaTime);
      }
      await this._nextEvent(100);
    }
    return this.wallAt(this.snap(video.currentTime));
  }

  _seekMedia(frameStart) {
    this.pendingFrame = frameStart;
    this.presentedFresh = false;
    this.seekTarget = Math.max(0, frameStart + SEEK_INTO);
    this.video.currentTime = this.seekTarget;
    const clear = () => {
      if (this.pendingFrame === frameStart) this.pendingFrame = null;
    };
    this.video.addEventListener("seeked", clear, { once: true });
  }

  /** Step whole frames (pauses). */
  stepFrames(n) {
    this.video.pause(); // the seek below settles it
    this._seekMedia(this.snap(this.frameTime + n * this.frameDuration + SNAP_SLACK / 2));
  }

  /** Move by seconds of video (across holes the wall clock jumps further). */
  stepSeconds(s) {
    const video = this.video;
    if (video.paused) this._seekMedia(this.snap(Math.max(0, this.frameTime + s)));
    else video.currentTime = Math.max(0, video.currentTime + s);
  }

  /** Go to wall-clock ms; -> whether that time is in a hole (then: the next video after it). */
  seekWall(ms) {
    const { t, hole } = this.mediaAt(ms);
    if (this.video.paused) this._seekMedia(this.snap(t));
    else this.video.currentTime = t;
    return hole;
  }

  goLive() {
    if (this.hls && Number.isFinite(this.hls.liveSyncPosition)) {
      this.video.currentTime = this.hls.liveSyncPosition;
    }
  }

  togglePlay() {
    if (this.video.paused) this.video.play().catch(() => {});
    else this.pause();
  }

  /** Pause on a whole frame. */
  pause() {
    const video = this.video;
    if (video.paused) return;
    video.pause();
    this._seekMedia(this.snap(video.currentTime));
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
