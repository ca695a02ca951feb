// The edit page's right-hand side: the event's own fields (category, description, notes), the
// cut's inputs (title, description, tags, stream/variant, location, cut type, allow holes), the
// event's state and the cutter's progress as it moves, and the difference view after a
// conflicting save. Values are compared in a normal form so that
// "unsaved changes" and the difference view agree with what the server stores.

import { h, option, replace, safeLink } from "./dom.js";
import { EDIT_FIELDS, FIELD_LABELS, FORM_FIELDS, MEANING, STATES } from "./states.js";
import { fmtAgo, fmtUtc, parseIso, parseTimeInput, toIso } from "./time.js";

// The server's limits (/api/config "limits"): the server checks them; here they only drive the
// counters while typing.
function limitsOf(config) {
  const l = config.limits || {};
  return {
    title: l.title_max_chars || 100,
    titleForbidden: l.title_forbidden ?? "<>",
    descriptionBytes: l.description_max_bytes || 5000,
    tags: l.tags_max_chars || 500,
  };
}

const encoder = new TextEncoder();

export function parseTags(text) {
  return String(text || "").split(",").map((t) => t.trim()).filter(Boolean);
}

/** The form's values for a row, with the defaults the form shows for unset fields. */
export function valuesFromRow(row, config) {
  const streams = Object.keys(config.streams || {});
  const stream = row.video_stream || streams[0] || "";
  const variants = (config.streams || {})[stream] || [];
  const variant = row.video_variant || (variants.includes("source") ? "source" : variants[0] || "source");
  return {
    event_start: row.event_start ? toIso(parseIso(row.event_start)) : null,
    event_end: row.event_end ? toIso(parseIso(row.event_end)) : null,
    category: row.category || "",
    description: row.description || "",
    notes: row.notes || "",
    video_start: row.video_start ? toIso(parseIso(row.video_start)) : null,
    video_end: row.video_end ? toIso(parseIso(row.video_end)) : null,
    video_title: row.video_title || "",
    video_description: row.video_description || "",
    video_tags: Array.isArray(row.video_tags) ? row.video_tags : [],
    video_stream: stream,
    video_variant: variant,
    upload_location: row.upload_location || (config.locations || [])[0] || null,
    cut_type: row.cut_type || null,
    allow_holes: Boolean(row.allow_holes),
  };
}

const TIME_FIELDS = new Set(["event_start", "event_end", "video_start", "video_end"]);

export function shown(field, value) {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (field === "video_tags") return value.length ? value.join(", ") : "(none)";
  if (field === "allow_holes") return value ? "yes" : "no";
  if (field === "cut_type" && !value) return "(location default)";
  if (TIME_FIELDS.has(field)) {
    const ms = parseIso(value);
    return ms === null ? String(value) : fmtUtc(ms, true) + " UTC";
  }
  return String(value);
}

export function same(field, a, b) {
  return shown(field, a) === shown(field, b);
}

/** The form fields whose values differ between a and b. */
export function differences(a, b) {
  return FORM_FIELDS.filter((f) => !same(f, a[f], b[f]));
}

/** Only the cut's inputs that differ (a change of these is a (re)submit once submitted). */
export function editDifferences(a, b) {
  return EDIT_FIELDS.filter((f) => !same(f, a[f], b[f]));
}

/**
 * A time typed into the event's start or end (any form parseTimeInput takes; offsets from
 * `referenceMs`, the event's start) -> its ISO form; text that is no time is passed on as it
 * is, for the server to refuse with its reason. Empty -> null.
 */
export function typedTime(text, referenceMs) {
  const value = String(text || "").trim();
  if (!value) return null;
  const parsed = parseTimeInput(value, referenceMs);
  return parsed.error ? value : toIso(parsed.ms);
}

/**
 * The form fields. onChange() after any edit; onSource() when stream or variant changes;
 * eventStartMs() the event's saved start (what offsets typed into its times count from);
 * markMs("in" | "out") a mark, or null (the "= in" / "= out" buttons of the event's times).
 */
export function buildFields(config, { onChange, onSource, eventStartMs, markMs }) {
  const LIMITS = limitsOf(config);
  const eventStart = h("input", { type: "text", id: "f-event-start", class: "mono", autocomplete: "off", placeholder: "UTC, 13:45:10 or +1:30" });
  const eventEnd = h("input", { type: "text", id: "f-event-end", class: "mono", autocomplete: "off", placeholder: "open (no end)" });
  const fromMark = (input, which) => h("button", {
    type: "button", class: "link from-mark", title: `the ${which} mark`,
    onclick: () => {
      const ms = markMs(which);
      if (ms === null) return;
      input.value = toIso(ms);
      input.dispatchEvent(new Event("input"));
    },
  }, `= ${which}`);
  const category = h("input", { type: "text", id: "f-category", autocomplete: "off", placeholder: "e.g. speedrun, donation" });
  const eventDescription = h("textarea", { id: "f-event-description", rows: 2, placeholder: "what happened (for the editors)" });
  const notes = h("textarea", { id: "f-notes", rows: 2, placeholder: "notes for the other editors" });
  const title = h("input", { type: "text", id: "f-title", autocomplete: "off", spellcheck: "true" });
  const titleCount = h("span", { class: "count" });
  const description = h("textarea", { id: "f-description", rows: 6, spellcheck: "true" });
  const descriptionCount = h("span", { class: "count" });
  const tags = h("input", { type: "text", id: "f-tags", autocomplete: "off", placeholder: "comma, separated, tags" });
  const tagsCount = h("span", { class: "count" });
  const stream = h("select", { id: "f-stream" });
  const variant = h("select", { id: "f-variant" });
  const location = h("select", { id: "f-location" });
  const cutType = h("select", { id: "f-cut-type" },
    option("", "location default"), (config.cut_types || []).map((t) => option(t)));
  const allowHoles = h("input", { type: "checkbox", id: "f-allow-holes" });

  const fillStreams = (selected) => {
    const names = Object.keys(config.streams || {});
    if (selected && !names.includes(selected)) names.push(selected);
    replace(stream, names.map((n) => option(n, n, n === selected)));
  };
  const fillVariants = (selected) => {
    const names = [...((config.streams || {})[stream.value] || [])];
    if (selected && !names.includes(selected)) names.push(selected);
    replace(variant, names.map((n) => option(n, n, n === selected)));
  };
  const fillLocations = (selected) => {
    const names = [...(config.locations || [])];
    if (selected && !names.includes(selected)) names.push(selected);
    replace(location, names.map((n) => option(n, n, n === selected)));
  };

  const counters = () => {
    const t = title.value.length;
    titleCount.textContent = `${t}/${LIMITS.title}`;
    const bad = [...LIMITS.titleForbidden].filter((c) => title.value.includes(c));
    titleCount.classList.toggle("over", t > LIMITS.title || bad.length > 0);
    titleCount.textContent += bad.length ? ` · no ${bad.join(" ")}` : "";
    const d = encoder.encode(description.value).length;
    descriptionCount.textContent = `${d}/${LIMITS.descriptionBytes} bytes`;
    descriptionCount.classList.toggle("over", d > LIMITS.descriptionBytes);
    const g = parseTags(tags.value).join(",").length;
    tagsCount.textContent = `${g}/${LIMITS.tags}`;
    tagsCount.classList.toggle("over", g > LIMITS.tags);
  };
  for (const el of [eventStart, eventEnd, category, eventDescription, notes, title, description, tags, cutType, location, allowHoles]) {
    el.addEventListener("input", () => { counters(); onChange(); });
    el.addEventListener("change", () => { counters(); onChange(); });
  }
  stream.addEventListener("change", () => { fillVariants(variant.value); onSource(); onChange(); });
  variant.addEventListener("change", () => { onSource(); onChange(); });

  const field = (labelText, input, extra) => h("label", { class: "field" },
    h("span", { class: "label" }, labelText, extra || null), input);

  const el = h("div", { class: "fields" },
    h("fieldset", { class: "event-fields" },
      h("legend", {}, "Event ", h("span", { class: "muted small" }, "editable in every state")),
      h("div", { class: "grid2 times" },
        field("Start", eventStart, fromMark(eventStart, "in")),
        field("End", eventEnd, fromMark(eventEnd, "out"))),
      h("div", { class: "grid2" }, field("Category", category), field("Notes", notes)),
      field("Description of the moment", eventDescription)),
    h("h2", {}, "Video"),
    field("Title", title, titleCount),
    field("Description", description, descriptionCount),
    field("Tags", tags, tagsCount),
    h("div", { class: "grid2" }, field("Stream", stream), field("Variant", variant)),
    h("div", { class: "grid2" }, field("Upload to", location), field("Cut type", cutType)),
    h("label", { class: "check" }, allowHoles,
      h("span", {}, "Allow holes", h("span", { class: "muted small hint" }, "cut across missing video, joining the pieces that exist"))));

  return {
    el,
    allowHoles,
    title,
    set(values) {
      eventStart.value = values.event_start || "";
      eventEnd.value = values.event_end || "";
      category.value = values.category;
      eventDescription.value = values.description;
      notes.value = values.notes;
      title.value = values.video_title;
      description.value = values.video_description;
      tags.value = values.video_tags.join(", ");
      fillStreams(values.video_stream);
      fillVariants(values.video_variant);
      fillLocations(values.upload_location);
      cutType.value = values.cut_type || "";
      allowHoles.checked = values.allow_holes;
      counters();
    },
    values() {
      return {
        event_start: typedTime(eventStart.value, eventStartMs()),
        event_end: typedTime(eventEnd.value, eventStartMs()),
        category: category.value,
        description: eventDescription.value,
        notes: notes.value,
        video_title: title.value,
        video_description: description.value,
        video_tags: parseTags(tags.value),
        video_stream: stream.value,
        video_variant: variant.value,
        upload_location: location.value || null,
        cut_type: cutType.value || null,
        allow_holes: allowHoles.checked,
      };
    },
    source() {
      return { stream: stream.value, variant: variant.value };
    },
    /** The cut's inputs only: the event's own fields stay editable. */
    setDisabled(disabled) {
      for (const input of [title, description, tags, stream, variant, location, cutType, allowHoles]) {
        input.disabled = disabled;
      }
    },
  };
}

const PHASES = { cut: "Cutting", upload: "Uploading", cut_and_upload: "Cutting and uploading" };
const STALE_PROGRESS_MS = 60000; // the cutter writes every few seconds while a job runs

/** A running job's progress ({phase, percent, uploader, started, updated}) in words and as a
 * bar; null when no job runs. */
export function renderProgress(progress, { compact = false, now = Date.now() } = {}) {
  if (!progress) return null;
  const phase = PHASES[progress.phase] || progress.phase;
  const percent = typeof progress.percent === "number" ? progress.percent : null;
  const bar = h("progress", { max: 100, class: "job-bar", title: `${phase} ${percent === null ? "" : percent.toFixed(0) + "%"}` });
  if (percent !== null) bar.value = percent;
  const updated = parseIso(progress.updated);
  const stale = updated !== null && now - updated > STALE_PROGRESS_MS;
  const amount = percent === null ? "" : ` ${Math.floor(percent)}%`;
  if (compact) {
    return h("div", { class: `job small${stale ? " stale" : ""}` }, bar, " ", `${phase.toLowerCase()}${amount}`);
  }
  const started = parseIso(progress.started);
  return h("div", { class: `job progress-line${stale ? " stale" : ""}` },
    h("div", {}, h("strong", { class: "job-what" }, `${phase}${amount}`), " ", bar),
    h("div", { class: "muted small" },
      `cutter ${progress.uploader}`,
      started !== null ? ` · started ${fmtUtc(started)} UTC (${fmtAgo(started, now)})` : "",
      updated !== null ? ` · updated ${fmtAgo(updated, now)}` : "",
      stale ? " · no news from the cutter for a while: is it still running?" : ""));
}

/** The event's state as the cutter moves it: steps, meaning, progress, error, link, who and
 * when. */
export function renderStatus(box, row) {
  const index = STATES.indexOf(row.state);
  const steps = h("ol", { class: "stepper" }, STATES.map((s, i) => h("li", {
    class: s === row.state ? `now s-${s}` : i < index && row.state !== "UNEDITED" ? "past" : "",
    title: MEANING[s],
  }, s)));
  const edited = parseIso(row.edit_time);
  const uploaded = parseIso(row.upload_time);
  replace(box,
    h("h2", {}, "State"),
    steps,
    h("p", { class: "state-line" },
      h("span", { class: `state s-${row.state}` }, row.state), " ", MEANING[row.state] || ""),
    renderProgress(row.progress),
    row.error ? h("div", { class: "error-box", role: "alert" },
      h("strong", {}, "Error: "), h("span", { class: "error-text" }, row.error)) : null,
    row.video_link ? h("p", {}, "Video: ", safeLink(row.video_link)) : null,
    h("dl", { class: "facts" },
      row.editor ? [h("dt", {}, "Edited by"), h("dd", {}, row.editor,
        edited !== null ? h("span", { class: "muted" }, ` · ${fmtAgo(edited)} (${fmtUtc(edited, true)} UTC)`) : null)] : null,
      row.uploader ? [h("dt", {}, "Cutter"), h("dd", {}, row.uploader)] : null,
      uploaded !== null ? [h("dt", {}, "Uploaded"), h("dd", {}, `${fmtUtc(uploaded, true)} UTC`)] : null));
}

/**
 * The difference between what the editor typed and what someone else saved meanwhile.
 * row: the event as it is now; base, theirs, mine: form values (the editor's starting point,
 * the row's, the editor's now). -> element; actions: {mine(), theirs()}.
 */
export function renderConflict(message, row, { base, theirs, mine }, actions) {
  const fields = differences(theirs, mine);
  const changedByThem = new Set(differences(base, theirs));
  const when = parseIso(row.edit_time);
  const who = row.editor || "someone";
  const at = when !== null ? ` at ${fmtUtc(when, true)} UTC (${fmtAgo(when)})` : "";
  const story = changedByThem.size
    ? `${who} saved it${at}, after you opened it; it is now ${row.state}. `
    : `It changed after you opened it (it is now ${row.state}); its inputs did not. `;
  return h("div", { class: "card conflict", role: "alert" },
    h("h2", {}, "This event changed while you were editing"),
    h("p", {}, story, "Nothing of yours is saved yet: compare and choose."),
    fields.length ? h("table", { class: "diff" },
      h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Saved (theirs)"), h("th", {}, "Yours (not saved)"))),
      h("tbody", {}, fields.map((f) => h("tr", { class: changedByThem.has(f) ? "theirs-changed" : "" },
        h("th", {}, FIELD_LABELS[f] || f, changedByThem.has(f) ? h("span", { class: "badge" }, "changed") : null),
        h("td", { class: "theirs" }, shown(f, theirs[f])),
        h("td", { class: "mine" }, shown(f, mine[f]))))))
      : h("p", { class: "muted" }, "Their inputs and yours are the same; only the event's state or version changed."),
    h("div", { class: "buttons" },
      h("button", { type: "button", class: "primary", onclick: actions.mine }, "Keep mine and save again"),
      h("button", { type: "button", onclick: actions.theirs }, "Take theirs (drop my changes)")),
    h("p", { class: "muted small server-says" }, message));
}

