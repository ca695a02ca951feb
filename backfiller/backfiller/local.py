"""Housekeeping of the local archive: leftover temp files at start-up, and pruning old hours."""

import logging
import os
from datetime import timedelta

import gevent

from common.segment_files import recover_temp_files
from common.segments import HOUR, parse_hour, parse_segment_path, read_hour

from . import metrics

log = logging.getLogger(__name__)


def _subdirs(path, wanted=None):
    if wanted is not None:
        return [name for name in wanted if os.path.isdir(os.path.join(path, name))]
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return []
    return sorted(name for name in names
                  if not name.startswith(".") and os.path.isdir(os.path.join(path, name)))


def local_hours(base_dir, streams=None, variants=None):
    """(hour datetime, hour path) of every local hour directory, newest first."""
    found = []
    for stream in _subdirs(base_dir, streams):
        stream_path = os.path.join(base_dir, stream)
        for variant in _subdirs(stream_path, variants):
            variant_path = os.path.join(stream_path, variant)
            for name in _subdirs(variant_path):
                try:
                    found.append((parse_hour(name), os.path.join(variant_path, name)))
                except ValueError:
                    continue
    found.sort(reverse=True)
    return found


def recover_leftover_temp_files(base_dir, streams=None, variants=None, earliest=None,
                                min_age=timedelta(minutes=5)):
    """Rename temp files left by a writer that died (ours or the downloader's) to partials, in
    every local hour at or after `earliest`. Yields to other greenlets between hours."""
    recovered = 0
    for hour, path in local_hours(base_dir, streams, variants):
        if earliest is not None and hour + HOUR <= earliest:
            break
        try:
            recovered += len(recover_temp_files(path, min_age=min_age))
        except OSError as e:
            log.warning("cannot recover temp files in %s: %s", path, e)
        gevent.idle()  # other greenlets (and sockets) between hours
    if recovered:
        metrics.recovered_temp_files.inc(recovered)
        log.info("recovered %d leftover temp files as partial", recovered)
    return recovered


def prune_old_hours(base_dir, cutoff, streams=None, variants=None):
    """Delete the segments of every local hour that ends at or before `cutoff`, then the hour
    directory if nothing else is in it. Files that are not segments are left alone.
    Returns the number of segment files deleted."""
    deleted = 0
    for hour, path in local_hours(base_dir, streams, variants):
        if hour + HOUR > cutoff:
            continue
        for name in read_hour(path) or ():
            try:
                parse_segment_path(os.path.join(path, name))
            except ValueError:
                continue
            try:
                os.remove(os.path.join(path, name))
                deleted += 1
            except FileNotFoundError:
                pass
        try:
            os.rmdir(path)
        except OSError as e:
            log.warning("pruned the segments of %s but kept the directory: %s", path, e)
        gevent.idle()  # other greenlets (and sockets) between hours
    if deleted:
        log.info("pruned %d segments older than %s", deleted, cutoff)
    return deleted
