"""The state machine and edit validation (pure logic)."""

import re
from datetime import datetime, timedelta

import pytest

from common.events import edits, states

T0 = datetime(2026, 11, 27, 12)


def test_transitions_are_exactly_the_documented_ones():
    assert states.allowed_transitions() == {
        ("UNEDITED", "EDITED"), ("EDITED", "EDITED"), ("CLAIMED", "EDITED"),
        ("EDITED", "UNEDITED"), ("CLAIMED", "UNEDITED"),
        ("EDITED", "CLAIMED"), ("CLAIMED", "FINALIZING"),
        ("FINALIZING", "TRANSCODING"), ("FINALIZING", "DONE"), ("TRANSCODING", "DONE"),
        ("FINALIZING", "EDITED"), ("FINALIZING", "UNEDITED"), ("TRANSCODING", "UNEDITED"),
        ("UNEDITED", "DONE"), ("UNEDITED", "UNEDITED"),
    }


@pytest.mark.parametrize("action,state,target", [
    ("edit", "UNEDITED", "EDITED"), ("edit", "CLAIMED", "EDITED"),
    ("cancel", "EDITED", "UNEDITED"), ("reset", "FINALIZING", "UNEDITED"),
    ("retry", "FINALIZING", "EDITED"), ("manual-link", "UNEDITED", "DONE"),
    # The operator found the video the cutter may or may not have made, or uploaded one.
    ("manual-link", "FINALIZING", "DONE"),
    ("draft", "UNEDITED", "UNEDITED"),
])
def test_allowed_actions(action, state, target):
    assert states.action_target(action, state) == target


@pytest.mark.parametrize("action,state", [
    ("edit", "FINALIZING"), ("edit", "DONE"), ("cancel", "UNEDITED"), ("cancel", "DONE"),
    ("cancel", "FINALIZING"), ("reset", "EDITED"), ("retry", "TRANSCODING"),
    ("manual-link", "EDITED"), ("manual-link", "CLAIMED"), ("manual-link", "DONE"),
    ("draft", "EDITED"), ("draft", "CLAIMED"),
])
def test_refused_actions_say_why(action, state):
    with pytest.raises(states.TransitionError, match=f"cannot {action} an event in state {state}"):
        states.action_target(action, state)


def good_edit(**changes):
    values = dict(video_start=T0, video_end=T0 + timedelta(seconds=5), video_title="T",
                  video_description="D", video_stream="main", video_variant="source",
                  video_tags=[], upload_location="archive", allow_holes=False,
                  uploader_whitelist=None, cut_type=None)
    values.update(changes)
    return values


def test_valid_edit_has_no_problems():
    assert edits.problems(good_edit()) == []
    assert edits.problems(good_edit(cut_type="full", uploader_whitelist=["a"])) == []
    # The shortest cut there is (common.cuts.MIN_CUT_DURATION, which the restreamer applies too).
    assert edits.problems(good_edit(video_end=T0 + timedelta(milliseconds=100))) == []


@pytest.mark.parametrize("changes,problem", [
    (dict(video_title=None), "video_title is required"),
    (dict(video_title=""), "video_title is required"),
    (dict(upload_location=None), "upload_location is required"),
    (dict(video_end=T0), "must be after video_start"),
    (dict(video_end=T0 + timedelta(milliseconds=99)), "0.099s, less than the shortest cut"),
    (dict(video_stream="../etc"), "not a valid archive name"),
    (dict(video_variant=".hidden"), "not a valid archive name"),
    (dict(cut_type="slow"), "cut_type must be one of"),
    (dict(upload_location="manual"), "reserved for manual-link"),
    (dict(uploader_whitelist=[]), "at least one cutter"),
    (dict(video_title="x" * 101), "video_title is 101 characters, more than 100"),
    (dict(video_title="a <b> c"), "must not contain < or >"),
    (dict(video_title="a > c"), "must not contain < or >"),
    (dict(video_description="\u00e9" * 2501), "video_description is 5002 bytes, more than 5000"),
    (dict(video_tags=["t" * 250, "u" * 250]), "501 characters in all"),
    (dict(video_tags=["a", ""]), "empty tag"),
])
def test_bad_edits(changes, problem):
    with pytest.raises(edits.EditError, match=problem):
        edits.validate(good_edit(**changes))


def test_text_limits_are_inclusive():
    assert edits.problems(good_edit(video_title="x" * 100, video_description="\u00e9" * 2500,
                                    video_tags=["t" * 249, "u" * 250])) == []


KNOWN = edits.Known(streams={"main": ["source", "480p"]}, locations=("archive",),
                    max_duration=timedelta(hours=6))


@pytest.mark.parametrize("changes,problem", [
    (dict(video_stream="other"), "unknown stream 'other' (known: main)"),
    (dict(video_variant="720p"), "stream 'main' has no variant '720p' (it has: source, 480p)"),
    (dict(upload_location="youtube"), "unknown upload location 'youtube' (known: archive)"),
    (dict(video_end=T0 + timedelta(hours=6, seconds=1)), "is 6h0m1s, longer than the maximum 6h"),
    (dict(video_end=T0 + timedelta(hours=6, microseconds=1)), "is 6h0m0.000001s, longer than"),
])
def test_edits_against_what_a_deployment_knows(changes, problem):
    assert edits.problems(good_edit(), KNOWN) == []
    assert edits.problems(good_edit(video_end=T0 + timedelta(hours=6)), KNOWN) == []
    with pytest.raises(edits.EditError, match=re.escape(problem)):
        edits.validate(good_edit(**changes), KNOWN)
    edits.validate(good_edit(**changes))  # without Known, nothing is checked against it


def test_a_draft_may_be_incomplete_but_not_wrong():
    draft = dict(video_variant="source", video_title="Half done")
    assert edits.problems(draft, draft=True) == []
    assert "video_start is required" in edits.problems(draft)
    with pytest.raises(edits.EditError, match="must not contain"):
        edits.validate(dict(draft, video_title="<b>"), draft=True)


@pytest.mark.parametrize("start,end,problem", [
    (T0, None, None), (T0, T0 + timedelta(seconds=1), None),
    (T0, T0, "must be after event_start"), (T0, T0 - timedelta(1), "must be after event_start"),
    (None, None, "event_start is required"),
])
def test_event_times(start, end, problem):
    found = edits.event_problems(dict(event_start=start, event_end=end))
    assert (found == []) if problem is None else (problem in found[0])
