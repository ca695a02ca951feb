// Event states as the page shows them. The rules (who may move an event where) live on the
// server, in the state machine the CLI shares; this only names and describes them.

export const STATES = ["UNEDITED", "EDITED", "CLAIMED", "FINALIZING", "TRANSCODING", "DONE"];

export const MEANING = {
  UNEDITED: "not submitted yet",
  EDITED: "submitted: waiting for a cutter",
  CLAIMED: "a cutter is cutting it",
  FINALIZING: "uploading",
  TRANSCODING: "uploaded: the video service is processing it",
  DONE: "done: the video is online",
};

/** States in which the cutter is still working (the page watches them). */
export const MOVING = new Set(["EDITED", "CLAIMED", "FINALIZING", "TRANSCODING"]);

/** States whose edit inputs may still change (the server has the final word). */
export const EDITABLE = new Set(["UNEDITED", "EDITED", "CLAIMED"]);

/** The event's own fields (the moment: editable in every state). */
export const EVENT_FIELDS = ["event_start", "event_end", "category", "description", "notes"];

/** The cut's inputs (change only by (re)submitting, or as a draft before the first submit). */
export const EDIT_FIELDS = [
  "video_start", "video_end", "video_title", "video_description", "video_tags",
  "video_stream", "video_variant", "upload_location", "cut_type", "allow_holes",
];

/** Every field of the edit page's form, in the order the difference view lists them. */
export const FORM_FIELDS = [...EVENT_FIELDS, ...EDIT_FIELDS];

export const FIELD_LABELS = {
  event_start: "Event start", event_end: "Event end", category: "Category",
  description: "Event description", notes: "Notes",
  video_start: "In", video_end: "Out", video_title: "Title", video_description: "Description",
  video_tags: "Tags", video_stream: "Stream", video_variant: "Variant",
  upload_location: "Location", cut_type: "Cut type", allow_holes: "Allow holes",
  state: "State", editor: "Editor", error: "Error",
};
