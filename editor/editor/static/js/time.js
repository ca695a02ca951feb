// Times on the page: numbers of milliseconds since the epoch (UTC), possibly fractional
// (a frame's time is rarely a whole millisecond). Pure functions, no DOM.

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** "2026-11-27T13:45:51.608Z" (zone optional: without one it is UTC) -> ms, or null. */
export function parseIso(text) {
  const m = ISO_RE.exec(String(text || "").trim());
  if (!m) return null;
  const [, y, mo, d, hh, mm, ss, frac, zone] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +hh, +mm, +(ss || 0));
  if (frac) ms += Number("0." + frac) * 1000;
  if (zone && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (+digits.slice(0, 2) * 60 + +digits.slice(2, 4)) * 60000;
  }
  const check = new Date(Date.UTC(+y, +mo - 1, +d, +hh, +mm));
  if (check.getUTCMonth() !== +mo - 1 || +hh > 23 || +mm > 59 || +(ss || 0) > 59) return null;
  return ms;
}

/** The API's form: ISO 8601 UTC with milliseconds. A frame's time is rounded down, so that a
 * mark never lands after the frame it was set on (a cut starts at the first frame >= start). */
export function toIso(ms) {
  return new Date(Math.floor(ms + 1e-6)).toISOString();
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

function splitMs(ms) {
  const whole = Math.floor(ms + 1e-6);
  return { whole, millis: ((whole % 1000) + 1000) % 1000 };
}

/** "13:45:51.608" (UTC), or with the date: "2026-11-27 13:45:51.608". */
export function fmtUtc(ms, withDate = false) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const iso = toIso(ms); // 2026-11-27T13:45:51.608Z
  return withDate ? iso.slice(0, 10) + " " + iso.slice(11, 23) : iso.slice(11, 23);
}

const localFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZoneName: "short",
});
const localDateFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
});

/** Local wall-clock time with milliseconds and the zone: "14:45:51.608 CET". */
export function fmtLocal(ms, withDate = false) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const { whole, millis } = splitMs(ms);
  const parts = localFormat.formatToParts(new Date(whole));
  const get = (type) => (parts.find((p) => p.type === type) || {}).value || "";
  const hour = get("hour") === "24" ? "00" : get("hour");
  const text = `${hour}:${get("minute")}:${get("second")}.${pad(millis, 3)} ${get("timeZoneName")}`;
  return withDate ? `${localDateFormat.format(new Date(whole))} ${text}` : text;
}

/** A duration as "1:23.456", "1:02:03.456" or "12.345 s" for under a minute. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const sign = ms < 0 ? "−" : "";
  const whole = Math.round(Math.abs(ms));
  const millis = whole % 1000;
  const secs = Math.floor(whole / 1000) % 60;
  const mins = Math.floor(whole / 60000) % 60;
  const hours = Math.floor(whole / 3600000);
  if (!hours && !mins) return `${sign}${secs}.${pad(millis, 3)} s`;
  if (!hours) return `${sign}${mins}:${pad(secs)}.${pad(millis, 3)}`;
  return `${sign}${hours}:${pad(mins)}:${pad(secs)}.${pad(millis, 3)}`;
}

/** Signed offset from an origin, always with hours: "+0:01:23.456", "−0:00:05.000". */
export function fmtRelative(ms, originMs) {
  if (!Number.isFinite(ms) || !Number.isFinite(originMs)) return "—";
  const delta = Math.floor(ms + 1e-6) - Math.floor(originMs + 1e-6);
  const sign = delta < 0 ? "−" : "+";
  const abs = Math.abs(delta);
  const hours = Math.floor(abs / 3600000);
  const mins = Math.floor(abs / 60000) % 60;
  const secs = Math.floor(abs / 1000) % 60;
  return `${sign}${hours}:${pad(mins)}:${pad(secs)}.${pad(abs % 1000, 3)}`;
}

/** "3 s ago", "5 min ago", "2 h ago" (for list freshness and state changes). */
export function fmtAgo(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

const CLOCK_RE = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;
const OFFSET_RE = /^([+-])\s*(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)\s*(s|m|min|h)?$/i;

/**
 * What an editor types to say "go there":
 *   2026-11-27T13:45:51.608Z   a full date and time (no zone: UTC)
 *   13:45:51.608               a UTC time of day, on the day nearest the reference
 *   +1:30, -10, +2m, -0:00:05  an offset from the reference (the event's start)
 * -> {ms} or {error}.
 */
export function parseTimeInput(text, referenceMs) {
  const value = String(text || "").trim();
  if (!value) return { error: "type a time" };
  const iso = parseIso(value);
  if (iso !== null) return { ms: iso };
  const clock = CLOCK_RE.exec(value);
  if (clock) {
    const [, hh, mm, ss, frac] = clock;
    if (+hh > 23 || +mm > 59 || +(ss || 0) > 59) return { error: `${value} is not a time of day` };
    const dayMs = ((+hh * 60 + +mm) * 60 + +(ss || 0)) * 1000 + (frac ? Number("0." + frac) * 1000 : 0);
    const ref = Number.isFinite(referenceMs) ? referenceMs : Date.now();
    const midnight = Math.floor(ref / 86400000) * 86400000;
    const candidates = [midnight - 86400000, midnight, midnight + 86400000].map((d) => d + dayMs);
    candidates.sort((a, b) => Math.abs(a - ref) - Math.abs(b - ref));
    return { ms: candidates[0] };
  }
  const offset = OFFSET_RE.exec(value);
  if (offset && Number.isFinite(referenceMs)) {
    const [, sign, a, b, last, unit] = offset;
    let seconds;
    if (unit) {
      if (a || b) return { error: `write either ${value[0]}H:MM:SS or a number with a unit` };
      const scale = { s: 1, m: 60, min: 60, h: 3600 }[unit.toLowerCase()];
      seconds = Number(last) * scale;
    } else {
      const parts = [a, b].filter((p) => p !== undefined).map(Number);
      seconds = Number(last);
      if (parts.length === 1) seconds += parts[0] * 60;
      if (parts.length === 2) seconds += parts[0] * 3600 + parts[1] * 60;
    }
    return { ms: referenceMs + (sign === "-" ? -1 : 1) * seconds * 1000 };
  }
  return {
    error: `cannot read "${value}": use 2026-11-27T13:45:51.608Z, a UTC time like 13:45:51, ` +
      "or an offset like +1:30 or -10s",
  };
}
