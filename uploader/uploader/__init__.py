"""uploader daemon of the archiving suite."""
