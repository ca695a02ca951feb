"""Runs of segments without program date times: anchoring the first segment of each, taking
the timeline of a copy stored here or at a peer, and settling two nodes that anchored the same
run at once (the rules: timeline.py and docs/design.md)."""

import logging
import os
import time

import gevent.event

from common.fs import ensure_directory, fsync_directory
from common.segments import (is_temp, names_starting_at, parse_segment_path, read_hour,
                             segment_file_name)

from .timeline import RACE_WINDOW, UNSETTLED_FOR, TimelineLookup, Unsettled

log = logging.getLogger(__name__)


class Anchors:
    """One per stream manager, whose jobs, workers and downloads it works with."""

    def __init__(self, manager, peers=()):
        self.manager = manager
        self.stream = manager.stream
        self.lookup = TimelineLookup(manager.base_dir, manager.stream, peers, manager.session)
        self.unsettled = {}   # variant -> Unsettled: a run anchored on the clock
        self.waiting = gevent.event.Event()  # set while there is an unsettled run

    def note(self, job):
        """A segment submitted: part of its variant's unsettled run, if it is one's."""
        run = self.unsettled.get(job.variant)
        if run is not None and job.start >= run.start:
            run.starts.add(job.start)

    def anchor(self, job):
        """Fetch the first segment of a run without program date times now (one attempt) and
        return the start its run is named by: that of a copy of the same bytes stored here or
        at a peer (timeline.py), else the clock estimate the job carries. Without a complete
        copy after this attempt, the segment is fetched on like any other."""
        estimate = job.start
        anchor = {}

        def resolve(content_hash):
            anchor["hash"] = content_hash
            found = self.adopt(job.variant, estimate, content_hash)
            anchor["clock"] = found == (estimate, False)
            return found

        job.resolve = resolve
        self.manager.recover_hour(job)
        self.unsettled.pop(job.variant, None)  # a new run: the last one is what it is
        probe = self.manager.downloads.spawn(self.manager.downloader.probe, job)
        result = probe.get()
        job.resolve = None
        if anchor.get("clock") and self.lookup.peers:
            self.unsettled[job.variant] = Unsettled(anchor["hash"], job.start,
                                                    time.monotonic() + UNSETTLED_FOR)
            self.waiting.set()
        if result in ("full", "suspect"):
            self.manager.remember_done(job, result)
        else:
            self.manager.submit(job)
        return job.start

    def adopt(self, variant, estimate, content_hash):
        """(start, full copy stored here) for a run whose first segment hashes to content_hash."""
        try:
            found = self.lookup.find(variant, estimate, content_hash)
        except Exception:
            log.exception("%s %s: looking for a copy of a segment failed", self.stream,
                variant)
            found = None
        if found is None:
            log.info("%s %s: timeline anchored on the clock at %s (no copy of its first segment"
                " here or at %d peer(s))", self.stream, variant, estimate,
                len(self.lookup.peers))
            return estimate, False
        return found

    def settle_loop(self, interval=1):
        """Check runs anchored on the clock against the peers (timeline.Unsettled)."""
        while not self.manager.stopping.wait(interval):
            if not self.unsettled:
                self.waiting.clear()
                self.waiting.wait()  # idle until a run is anchored on the clock
                continue
            for variant, run in list(self.unsettled.items()):
                try:
                    self.settle(variant, run)
                except Exception:
                    log.exception("%s %s: checking the timeline of %r failed", self.stream,
                        variant, run)
                    self.unsettled.pop(variant, None)

    def settle(self, variant, run):
        """Done with `run` once a peer holds its first segment (or after a while); if a peer's
        copy starts earlier, it anchored the same run at the same moment: move ours there."""
        if time.monotonic() > run.until:
            self.unsettled.pop(variant, None)
            return
        start = self.lookup.at_peers(variant, run.start, run.hash, RACE_WINDOW)
        if start is None or self.unsettled.get(variant) is not run:
            return
        del self.unsettled[variant]
        if start < run.start:
            self.move_run(variant, run, start - run.start)

    def move_run(self, variant, run, shift):
        """Rename this node's segments of `run` by shift, and count on from there."""
        for worker in self.manager.workers.get(variant, []):
            worker.shift(run.start, shift)
        renamed = 0
        for old in sorted(run.starts):
            state = self.manager.jobs.pop((variant, old), None)
            if state is not None:  # a fetch still running or retrying names its file anew
                for job in (state.job, state.alternative):
                    if job is not None and job.start == old:
                        job.start = old + shift
                self.manager.remember((variant, old + shift), state)
            renamed += self.rename_stored(variant, old, old + shift)
        log.warning("%s %s: another node anchored this run %.3fs earlier at the same moment;"
            " moved %d segment file(s) onto its timeline", self.stream, variant,
            -shift.total_seconds(), renamed)

    def rename_stored(self, variant, old, new):
        """Rename the final files of the segment starting at `old` to start at `new`."""
        path = self.manager.hour_path(variant, old)
        names = [n for n in names_starting_at(read_hour(path) or (), old) if not is_temp(n)]
        if not names:
            return 0
        target = self.manager.hour_path(variant, new)
        ensure_directory(target)
        for name in names:
            info = parse_segment_path(os.path.join(path, name))
            os.replace(os.path.join(path, name), os.path.join(target, segment_file_name(
                new, info.duration, info.type, info.hash)))
        fsync_directory(target)
        if target != path:
            fsync_directory(path)
        return len(names)
