"""What the cutter decides, apart from doing it (pure logic, no I/O).

- which cut a job gets (type, container, encoding),
- the guarded SQL of each step (every write names the states it may start from, and after the
  claim also `uploader = me`, so a concurrent re-edit or cancel turns it into a no-op),
- how a failure maps to the event's next state.
"""

from datetime import timedelta
from typing import NamedTuple, Optional

from common.events.edits import CUT_INPUTS
from common.service import one_line
from uploader.backends import UploadError

DEFAULT_FULL_ENCODE_ARGS = None  # None: common.cuts.DEFAULT_ENCODE_ARGS
# An event is not cut until its end is this far in the past: its last segment must have been
# downloaded (a segment lasts a few seconds; its download may take longer).
RECORDING_MARGIN = timedelta(seconds=30)

# Outcomes, used as the `outcome` label of the uploads metric (a fixed set).
DONE, TRANSCODING = "done", "transcoding"
RETRYABLE, PERMANENT, UNKNOWN = "retryable_failure", "permanent_failure", "unknown"
ABANDONED, LOST_UPDATE = "abandoned", "lost_update"
OUTCOMES = (DONE, TRANSCODING, RETRYABLE, PERMANENT, UNKNOWN, ABANDONED, LOST_UPDATE)


class Abandoned(Exception):
    """The event is no longer ours (re-edited, cancelled): drop the job quietly."""


class Stopping(Exception):
    """The cutter is shutting down before the upload became official: hand the event back."""


class CutPlan(NamedTuple):
    cut_type: str  # rough, fast or full
    container: str  # mpegts or mp4 (a rough cut is always mpegts)
    encode_args: Optional[list]  # for full cuts


def plan_cut(event_cut_type, location):
    """The event's cut type wins, then the location's, then the backend's preference."""
    backend = location.backend
    cut_type = event_cut_type or location.cut_type or (
        "full" if backend.encoding_settings else "fast")
    container = "mpegts" if cut_type == "rough" else backend.container
    encode_args = None
    if cut_type == "full":
        encode_args = backend.encoding_settings or DEFAULT_FULL_ENCODE_ARGS
    return CutPlan(cut_type, container, encode_args)


CANDIDATES_SQL = f"""
    SELECT id, edit_time, {', '.join(CUT_INPUTS)} FROM events
    WHERE state = 'EDITED' AND upload_location = ANY(%(locations)s)
      AND (uploader_whitelist IS NULL OR %(name)s = ANY(uploader_whitelist))
    ORDER BY edit_time, id
"""


def claim_sql(row):
    """The claim: succeeds only if every cut input still equals what we checked the footage for."""
    guards = " AND ".join(f"{name} IS NOT DISTINCT FROM %({name})s" for name in CUT_INPUTS)
    sql = f"""
        UPDATE events SET state = 'CLAIMED', uploader = %(me)s, error = NULL
        WHERE id = %(id)s AND state = 'EDITED' AND {guards}
        RETURNING id
    """
    params = {name: row[name] for name in CUT_INPUTS}
    params["id"] = row["id"]
    return sql, params


CANDIDATE_ERROR_SQL = f"""
    UPDATE events SET error = %(error)s
    WHERE id = %(id)s AND state = 'EDITED' AND error IS DISTINCT FROM %(error)s
      AND {' AND '.join(f'{name} IS NOT DISTINCT FROM %({name})s' for name in CUT_INPUTS)}
"""

FINALIZE_SQL = """
    UPDATE events SET state = 'FINALIZING'
    WHERE id = %(id)s AND uploader = %(me)s AND state = 'CLAIMED'
"""

UPLOADED_SQL = """
    UPDATE events SET state = %(state)s, video_id = %(video_id)s, video_link = %(link)s,
        upload_time = %(now)s, error = NULL
    WHERE id = %(id)s AND uploader = %(me)s AND state = 'FINALIZING'
"""

FAILED_SQL = """
    UPDATE events SET state = %(state)s, uploader = NULL, error = %(error)s
    WHERE id = %(id)s AND uploader = %(me)s AND state IN ('CLAIMED', 'FINALIZING')
"""

UNKNOWN_SQL = """
    UPDATE events SET error = %(error)s
    WHERE id = %(id)s AND uploader = %(me)s AND state = 'FINALIZING'
"""

RELEASE_SQL = """
    UPDATE events SET state = 'EDITED', uploader = NULL
    WHERE id = %(id)s AND uploader = %(me)s AND state = 'CLAIMED'
"""

STILL_OURS_SQL = """
    SELECT 1 FROM events WHERE id = %(id)s AND uploader = %(me)s
        AND state IN ('CLAIMED', 'FINALIZING')
"""

# Start-up: an unclean shutdown left these behind.
RECOVER_CLAIMED_SQL = """
    UPDATE events SET state = 'EDITED', uploader = NULL
    WHERE state = 'CLAIMED' AND uploader = %(me)s RETURNING id
"""
# Only rows without an error: one with an error already says what happened (e.g. the answer
# that left the upload's fate unknown), which is what the operator needs to see.
RECOVER_FINALIZING_SQL = """
    UPDATE events SET error = %(error)s
    WHERE state = 'FINALIZING' AND uploader = %(me)s AND error IS NULL RETURNING id
"""

TRANSCODING_SQL = """
    SELECT id, video_id FROM events
    WHERE state = 'TRANSCODING' AND upload_location = %(location)s AND video_id IS NOT NULL
"""
TRANSCODED_SQL = """
    UPDATE events SET state = 'DONE', error = NULL
    WHERE id = %(id)s AND state = 'TRANSCODING' AND video_id = %(video_id)s
"""
TRANSCODE_ERROR_SQL = """
    UPDATE events SET error = %(error)s
    WHERE id = %(id)s AND state = 'TRANSCODING' AND video_id = %(video_id)s
      AND error IS DISTINCT FROM %(error)s
"""


def recovery_message(name):
    return (f"cutter {name} stopped uncleanly while finalizing this upload: check at the upload "
            "location whether the video exists, then `python -m uploader events reset ID` "
            "(add --retry to upload again) or record the link with manual-link")


def unknown_message(location, exc):
    return (f"upload to {location} may or may not have happened ({one_line(exc)}): check "
            "whether the video exists, then `python -m uploader events reset ID` "
            "(add --retry to upload again)")


def classify_failure(exc, finalizing):
    """(outcome, next state or None, error text) for an exception out of a job.

    Only an UploadError proves the upload did not happen. Anything else is harmless before
    the event reached FINALIZING (nothing official was attempted: retry later), and unknown
    after it (stay FINALIZING for an operator)."""
    if isinstance(exc, UploadError):
        if exc.retryable:
            return RETRYABLE, "EDITED", f"upload failed, will retry: {one_line(exc)}"
        return PERMANENT, "UNEDITED", f"upload refused: {one_line(exc)}"
    if not finalizing:
        return RETRYABLE, "EDITED", f"cut failed, will retry: {one_line(exc)}"
    return UNKNOWN, None, None


def video_unknown_message(location, video_id):
    return (f"{location} does not list video {video_id} (deleted?): check it, then "
            "`python -m uploader events reset ID` to make the event again")


def not_recorded_message(end):
    margin = int(RECORDING_MARGIN.total_seconds())
    return (f"the video ends at {end}, less than {margin} s ago, and its last segments may still"
            f" be arriving: will cut it from {end + RECORDING_MARGIN}")


def footage_message(node, stream, variant, start, end, stats=None):
    """Why this node cannot cut the event yet (stored in the event's error column)."""
    where = f"node {node} lacks footage of {stream}/{variant} between {start} and {end}"
    if stats is None:
        return f"{where}: none at all; will cut when it arrives"
    if not stats.holes:
        # Nothing missing: partial/suspect segments break the run (they may not join cleanly).
        return (f"node {node} has {stream}/{variant} between {start} and {end} only with "
                f"{stats.partials} partial or suspect segment(s), which may not join cleanly; "
                "will cut when full copies arrive (or allow holes)")
    return (f"{where}: {stats.holes} hole(s), {stats.hole_duration} missing; will cut when the "
            "footage arrives (or allow holes)")


def retry_delay(failures, base=10.0, cap=600.0):
    """Seconds before retrying an event whose job failed `failures` times in a row here."""
    return min(cap, base * 2 ** max(0, failures - 1))
