"""The seeded fault schedule (pure) and what each fault does.

A fault hits a set of targets, (node, service) pairs or a shared part ("origin", "postgres"),
for `duration` seconds, and the system needs `recovery` seconds more to be whole again. Two
faults whose windows overlap never hit the two nodes' copies of one service (a node's full
disk hits its downloader, backfiller and segment_coverage), and the origin's faults never
overlap a fault of a downloader, so the other node always records what one node misses."""

import random
from dataclasses import dataclass

NODES = ("a", "b")
KILLED = ("downloader", "restreamer", "backfiller", "cutter", "segment_coverage")
DISK_SERVICES = ("downloader", "backfiller", "segment_coverage")


@dataclass
class Fault:
    kind: str          # kill | hang | origin_down | origin_truncate | postgres | disk_full
    node: str | None
    service: str | None
    duration: float
    recovery: float
    at: float = 0.0    # seconds after the load starts

    @property
    def targets(self):
        if self.kind == "disk_full":
            return {(self.node, s) for s in DISK_SERVICES}
        if self.kind in ("origin_down", "origin_truncate"):
            return {("origin", "origin")}
        if self.kind == "postgres":
            return {("postgres", "postgres")}
        return {(self.node, self.service)}

    def window(self):
        return self.at, self.at + self.duration + self.recovery

    def describe(self):
        where = f" {self.service}@{self.node}" if self.service else (
            f" @{self.node}" if self.node else "")
        if self.kind == "kill":
            return f"kill{where}"
        return f"{self.kind}{where} for {self.duration:g} s"


def conflicts(one, other):
    """True if the two may not overlap in time."""
    for node, service in one.targets:
        for node2, service2 in other.targets:
            if service == service2 and node != node2:
                return True
            if "origin" in (node, node2) and "downloader" in (service, service2):
                return True
            if node == node2 == "origin":
                return True
    return False


def all_faults(short=False, disk_node="b"):
    """Every fault once. `short` (a smoke run of a few minutes): the same faults, halved."""
    k = 0.5 if short else 1
    # A cutter is killed mid-cut: its fault lasts until a cut is under way (at most 30 s).
    faults = [Fault("kill", node, service, 30 * k if service == "cutter" else 0, 30 * k)
              for node in NODES for service in KILLED]
    faults += [Fault("hang", node, "restreamer", 30 * k, 20 * k) for node in NODES]
    faults += [Fault("origin_down", None, None, 20 * k, 10 * k),
               Fault("origin_truncate", None, None, 20 * k, 10 * k),
               Fault("postgres", None, None, 5, 20 * k),
               Fault("disk_full", disk_node, None, 60 * k, 30 * k)]
    return faults


def schedule(seed, seconds, warmup=45, tries=2000):
    """Every fault once, at seeded random times in [warmup, seconds), sorted by time. The
    truncated-body window follows the outage directly, as the issue asks. Longest windows are
    placed first (the short ones fit in between)."""
    rng = random.Random(seed)
    rounds = max(1, int(seconds // 3600))  # every fault once an hour
    faults = [f for _ in range(rounds) for f in all_faults(short=seconds < 600)]
    truncates = [f for f in faults if f.kind == "origin_truncate"]
    faults = [f for f in faults if f.kind != "origin_truncate"]
    rng.shuffle(faults)
    faults.sort(key=lambda f: (f.kind != "origin_down", -(f.duration + f.recovery)))
    placed = []
    for fault in faults:
        truncate = truncates.pop() if fault.kind == "origin_down" else None
        latest = max(warmup, seconds - fault.duration - fault.recovery
                     - (truncate.duration + truncate.recovery if truncate else 0))
        for _ in range(tries):
            fault.at = round(rng.uniform(warmup, latest), 1)
            group = [fault]
            if truncate:
                truncate.at = fault.at + fault.duration
                group.append(truncate)
            if not any(conflicts(f, g) and overlaps(f, g) for f in placed for g in group):
                placed.extend(group)
                break
        else:
            raise ValueError(f"{seconds} s is too short to place {fault.describe()} without "
                             "hitting both nodes at once: run for longer")
    return sorted(placed, key=lambda f: f.at)


def overlaps(one, other):
    a0, a1 = one.window()
    b0, b1 = other.window()
    return a0 < b1 and b0 < a1
