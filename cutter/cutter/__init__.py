"""cutter daemon of the archiving suite."""
