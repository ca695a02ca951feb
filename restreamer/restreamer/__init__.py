"""restreamer daemon of the archiving suite."""
