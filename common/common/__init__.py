"""Code shared by every daemon of the archiving suite."""
