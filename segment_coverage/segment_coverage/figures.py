"""Coverage figures of one hour of one stream/variant, and their sums (pure logic, no I/O).

The selection figures (holes, overlaps, covered time, chosen partials) come from
`common.segments.get_best_segments` via its SelectionStats, so this module never decides which
segment is best: it only counts the files of an hour and adds hours together.
"""

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta

HOUR = timedelta(hours=1)
ZERO = timedelta(0)

# Types of the files of an hour, as counted; "unparseable" is any name the segment parser rejects.
FILE_TYPES = ("full", "suspect", "partial", "temp", "unparseable")
# Types whose durations are summed (a temp file's duration is only what it will be).
TIMED_TYPES = ("full", "suspect", "partial")


@dataclass(frozen=True)
class Figures:
    """Additive figures of an hour (or of a sum of hours)."""
    full: int = 0
    suspect: int = 0
    partial: int = 0
    temp: int = 0
    unparseable: int = 0
    full_duration: timedelta = ZERO
    suspect_duration: timedelta = ZERO
    partial_duration: timedelta = ZERO
    # Files beyond the first at the same start time (temp files excluded).
    duplicates: int = 0
    # Length of the range examined (an hour, or less for the hour still being recorded).
    expected: timedelta = ZERO
    covered: timedelta = ZERO
    holes: int = 0
    hole_duration: timedelta = ZERO
    overlaps: int = 0
    overlap_duration: timedelta = ZERO
    partials_chosen: int = 0

    def __add__(self, other):
        return Figures(**{
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in dataclasses.fields(self)
        })

    def as_json(self):
        """Plain JSON types: durations as float seconds (for display only, never for arithmetic)."""
        return {
            name: value.total_seconds() if isinstance(value, timedelta) else value
            for name, value in dataclasses.asdict(self).items()
        }


@dataclass(frozen=True)
class HourCoverage:
    """What a scan found for one hour. `end` is where the examined range stops: the end of the
    hour, or a little before now for the hour still being recorded."""
    hour: object  # naive UTC datetime of the start of the hour
    end: object
    archived: bool  # the hour has a directory
    figures: Figures
    # One byte per map pixel (see pixels.py), or None when the hour is outside the map window.
    pixels: bytes = field(default=None, repr=False)

    @property
    def closed(self):
        """True when the whole hour was examined, so its figures only change with its files."""
        return self.end >= self.hour + HOUR


def count_files(segments, unparseable):
    """Figures about the files of an hour: `segments` are the parsed SegmentInfos of the hour's
    directory (any type), `unparseable` the number of names that did not parse."""
    counts = dict.fromkeys(TIMED_TYPES + ("temp",), 0)
    durations = dict.fromkeys(TIMED_TYPES, ZERO)
    starts = set()
    non_temp = 0
    for segment in segments:
        counts[segment.type] += 1
        if segment.type == "temp":
            continue
        durations[segment.type] += segment.duration
        starts.add(segment.start)
        non_temp += 1
    return Figures(
        full=counts["full"], suspect=counts["suspect"], partial=counts["partial"],
        temp=counts["temp"], unparseable=unparseable,
        full_duration=durations["full"], suspect_duration=durations["suspect"],
        partial_duration=durations["partial"],
        duplicates=non_temp - len(starts),
    )


def with_selection(figures, stats, expected):
    """`figures` completed with a SelectionStats recorded over a range `expected` long."""
    return dataclasses.replace(
        figures,
        expected=expected,
        covered=stats.covered,
        holes=stats.holes,
        hole_duration=stats.hole_duration,
        overlaps=stats.overlaps,
        overlap_duration=stats.overlap_duration,
        partials_chosen=stats.partials,
    )


def empty_range(figures, expected=ZERO):
    """`figures` of an hour whose examined range is empty (it has not started yet)."""
    return dataclasses.replace(figures, expected=expected)


def total(coverages):
    """Sum of the figures of HourCoverages."""
    result = Figures()
    for coverage in coverages:
        result = result + coverage.figures
    return result
