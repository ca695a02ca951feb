"""segment_coverage daemon of the archiving suite."""
