"""downloader daemon of the archiving suite."""
