"""Events: the cut state machine (states), edit validation (edits) and the guarded SQL that
changes events (db). The operator CLI (uploader) and the editor share these; the cutter uses
the state table and the edit inputs' names. A running job's progress (progress) is kept apart
from the events row."""
