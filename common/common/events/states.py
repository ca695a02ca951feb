"""The event state machine (pure logic, no I/O).

    UNEDITED -> EDITED -> CLAIMED -> FINALIZING -> TRANSCODING -> DONE

Who may move an event where. Every UPDATE in the CLI and the cutter is guarded by the states it
may start from (and the cutter's also by `uploader = me`), so a concurrent change makes it a no-op
instead of a wrong transition.
"""

UNEDITED, EDITED, CLAIMED, FINALIZING, TRANSCODING, DONE = (
    "UNEDITED", "EDITED", "CLAIMED", "FINALIZING", "TRANSCODING", "DONE")
STATES = (UNEDITED, EDITED, CLAIMED, FINALIZING, TRANSCODING, DONE)


class TransitionError(Exception):
    pass


# Operator and editor actions (CLI, editor): action -> (states it may start from, resulting
# state, why). Changing only an event's description of the moment (edits.EVENT_INFO) is no
# transition: it is allowed in every state.
ACTIONS = {
    # Re-editing a CLAIMED event makes its cutter abandon the job (its guarded updates fail).
    "edit": ((UNEDITED, EDITED, CLAIMED), EDITED, "edit inputs can change until the upload starts"),
    "cancel": ((EDITED, CLAIMED), UNEDITED, "only an event not yet uploading can be cancelled"),
    # After an operator checked that the upload did not happen (or wants to start over).
    "reset": ((FINALIZING, TRANSCODING), UNEDITED,
              "reset is for an upload whose fate an operator has checked"),
    "retry": ((FINALIZING,), EDITED,
              "retry is for an upload an operator has checked did not happen"),
    # From FINALIZING: the operator found the video the cutter's upload made after all (or
    # uploaded one by hand); the link settles the upload whose outcome was unknown.
    "manual-link": ((UNEDITED, FINALIZING), DONE,
                    "a manual link is for an event nobody is cutting, or one whose upload an "
                    "operator has checked"),
    # Saving edit inputs without submitting them (the editor's "save draft"). A submitted
    # event's inputs are what a cutter may be using: they change only by a new submit.
    "draft": ((UNEDITED,), UNEDITED,
              "a submitted event's edit changes only by submitting again (or cancel it first)"),
}

# Cutter steps: step -> (states it may start from, resulting state).
CUTTER_STEPS = {
    "claim": ((EDITED,), CLAIMED),
    "finalize": ((CLAIMED,), FINALIZING),
    "uploaded": ((FINALIZING,), TRANSCODING),
    "uploaded_ready": ((FINALIZING,), DONE),
    "transcoded": ((TRANSCODING,), DONE),
    "retryable_failure": ((CLAIMED, FINALIZING), EDITED),
    "permanent_failure": ((CLAIMED, FINALIZING), UNEDITED),
    "recover_claimed": ((CLAIMED,), EDITED),  # our own claim, left by an unclean shutdown
}


def action_target(action: str, current: str) -> str:
    """The state `action` moves an event in state `current` to, or TransitionError."""
    sources, target, why = ACTIONS[action]
    if current not in sources:
        raise TransitionError(f"cannot {action} an event in state {current}: {why} "
                              f"(allowed from {', '.join(sources)})")
    return target


def allowed_transitions() -> set[tuple[str, str]]:
    """Every (from, to) pair anyone may perform; the documented state diagram."""
    pairs = set()
    for sources, target, *_ in list(ACTIONS.values()) + list(CUTTER_STEPS.values()):
        pairs.update((source, target) for source in sources)
    return pairs
