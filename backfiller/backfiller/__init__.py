"""backfiller daemon of the archiving suite."""
