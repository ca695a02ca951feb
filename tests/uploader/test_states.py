"""The state machine and edit validation (pure logic)."""

from datetime import datetime, timedelta

import pytest

from uploader import edits, states

T0 = datetime(2026, 11, 27, 12)


def test_transitions_are_exactly_the_documented_ones():
    assert states.allowed_transitions() == {
        ("UNEDITED", "EDITED"), ("EDITED", "EDITED"), ("CLAIMED", "EDITED"),
        ("EDITED", "UNEDITED"), ("CLAIMED", "UNEDITED"),
        ("EDITED", "CLAIMED"), ("CLAIMED", "FINALIZING"),
        ("FINALIZING", "TRANSCODING"), ("FINALIZING", "DONE"), ("TRANSCODING", "DONE"),
        ("FINALIZING", "EDITED"), ("FINALIZING", "UNEDITED"), ("TRANSCODING", "UNEDITED"),
        ("UNEDITED", "DONE"),
    }


@pytest.mark.parametrize("action,state,target", [
    ("edit", "UNEDITED", "EDITED"), ("edit", "CLAIMED", "EDITED"),
    ("cancel", "EDITED", "UNEDITED"), ("reset", "FINALIZING", "UNEDITED"),
    ("retry", "FINALIZING", "EDITED"), ("manual-link", "UNEDITED", "DONE"),
    # The operator found the video the cutter may or may not have made, or uploaded one.
    ("manual-link", "FINALIZING", "DONE"),
])
def test_allowed_actions(action, state, target):
    assert states.action_target(action, state) == target


@pytest.mark.parametrize("action,state", [
    ("edit", "FINALIZING"), ("edit", "DONE"), ("cancel", "UNEDITED"), ("cancel", "DONE"),
    ("cancel", "FINALIZING"), ("reset", "EDITED"), ("retry", "TRANSCODING"),
    ("manual-link", "EDITED"), ("manual-link", "CLAIMED"), ("manual-link", "DONE"),
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
])
def test_bad_edits(changes, problem):
    with pytest.raises(edits.EditError, match=problem):
        edits.validate(good_edit(**changes))
