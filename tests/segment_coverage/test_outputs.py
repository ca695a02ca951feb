"""The files a check writes: PNG maps, JSON summaries and the HTML page."""

import io
import json
import os
from datetime import datetime, timedelta

import prometheus_client as prom
import pytest
from PIL import Image

from segment_coverage.coverage_map import COLOURS, WIDTH, pixel_xy, render_map
from segment_coverage.main import Checker, parse_args
from segment_coverage.metrics import Metrics
from segment_coverage.nodes import NodeList
from segment_coverage.pixels import FULL, MISSING, NONE, PARTIAL, PIXELS_PER_HOUR

S = timedelta(seconds=1)


def _check(base, scenario, nodes=(), extra=(), checker=None):
    args = parse_args(["--base-dir", base, *extra] + [a for n in nodes for a in ("--node", n)])
    checker = checker or Checker(args, Metrics(prom.CollectorRegistry()), NodeList(args.node))
    coverages, failures = checker.check(now=scenario.NOW)
    assert failures == 0
    return coverages, os.path.join(base, ".coverage")


def _colour(image, row, index):
    return image.getpixel(pixel_xy(row, index))


def test_map_shows_holes_partials_and_the_future(shared_archive, scenario):
    _, out = _check(shared_archive, scenario)
    with open(os.path.join(out, "s-v.png"), "rb") as f:
        data = f.read()
    Image.open(io.BytesIO(data)).verify()  # a valid PNG
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.width == WIDTH
    # rows, newest first: 0 = hour 02, 1 = hour 01, 2 = hour 00
    full, partial, missing, none = (COLOURS[s] for s in (FULL, PARTIAL, MISSING, NONE))
    assert [_colour(image, 2, i) for i in (49, 50, 51, 52)] == [full, missing, missing, full]
    assert _colour(image, 2, 500) == missing  # 1000 s
    assert _colour(image, 2, 100) == partial  # 200 s: partial
    assert _colour(image, 2, 250) == partial  # 500 s: suspect
    assert _colour(image, 2, 150) == full  # 300 s: duplicates, a full chosen
    assert _colour(image, 2, 200) == full  # 400 s: the overlapping segment is skipped
    assert _colour(image, 1, 0) == missing and _colour(image, 1, 899) == missing
    assert _colour(image, 1, 900) == full and _colour(image, 1, 1799) == full
    assert _colour(image, 0, 0) == full
    assert _colour(image, 0, 300) == missing  # 600.5 s onwards is missing
    assert _colour(image, 0, 1184) == missing  # last pixel before the live margin (2370 s)
    assert _colour(image, 0, 1185) == none


def test_map_rows_follow_the_map_hours(shared_archive, scenario):
    _, out = _check(shared_archive, scenario, extra=["--map-hours", "2"])
    image = Image.open(os.path.join(out, "s-v.png")).convert("RGB")
    assert _colour(image, 1, 0) == COLOURS[MISSING]  # hour 01
    with pytest.raises(IndexError):
        _colour(image, 2, 0)  # hour 00 is not drawn


def test_render_map_rejects_wrong_rows_and_draws_empty_maps():
    with pytest.raises(ValueError):
        render_map("t", [(datetime(2026, 1, 1), b"\x01" * 10)])
    image = Image.open(io.BytesIO(render_map("t", [])))
    assert image.width == WIDTH
    # day changes are separated; each hour's states are exactly its row
    rows = [(datetime(2026, 1, 1, 23), bytes([FULL]) * PIXELS_PER_HOUR),
            (datetime(2026, 1, 2, 0), bytes([MISSING]) * PIXELS_PER_HOUR)]
    image = Image.open(io.BytesIO(render_map("t", rows))).convert("RGB")
    assert image.getpixel(pixel_xy(0, 7)) == COLOURS[MISSING]
    assert image.getpixel(pixel_xy(1, 7)) == COLOURS[FULL]


def test_summary_json(shared_archive, scenario):
    _, out = _check(shared_archive, scenario, extra=["--summary-hours", "2"])
    with open(os.path.join(out, "s-v.json")) as f:
        summary = json.load(f)
    assert summary["stream"] == "s" and summary["variant"] == "v"
    assert summary["generated"] == "2026-01-01T02:40:00"
    assert summary["archived_hours"] == 3
    assert [h["hour"] for h in summary["hours"]] == ["2026-01-01T01", "2026-01-01T02"]
    previous, current = summary["hours"]
    assert (previous["holes"], previous["hole_duration"], previous["closed"]) == (1, 1800.0, True)
    assert (current["holes"], current["hole_duration"], current["closed"]) == (1, 1769.5, False)
    totals = summary["totals"]
    assert (totals["holes"], totals["overlaps"], totals["duplicates"]) == (4, 1, 2)
    assert totals["hole_duration"] == 3575.5


def test_page_shows_every_node_and_reloads(shared_archive, scenario):
    _, out = _check(shared_archive, scenario,
                    nodes=["http://node-b.example:8000/", "http://10.0.0.3:8000"],
                    extra=["--check-interval", "30"])
    with open(os.path.join(out, "index.html")) as f:
        page = f.read()
    assert '<meta http-equiv="refresh" content="30">' in page
    assert '<img src="s-v.png?t=20260101T024000"' in page
    assert 'src="http://node-b.example:8000/coverage/s-v.png?t=20260101T024000"' in page
    assert 'src="http://10.0.0.3:8000/coverage/s-v.png?t=20260101T024000"' in page
    assert '<a href="s-v.json">' in page
    # the figures table: holes in the current, previous and all hours
    assert "<tr><th>holes</th><td>1</td><td>1</td><td>4</td></tr>" in page


def test_page_escapes_names(tmp_path):
    from segment_coverage.page import render_page
    page = render_page([], [("<b>", 'http://x/"><script>')], datetime(2026, 1, 1), 60)
    assert "No streams found" in page
    assert "<script>" not in page


def test_outputs_are_written_for_every_stream_variant(tmp_path, scenario):
    from support.archive import write_segment
    base = str(tmp_path)
    for stream, variant in [("a", "source"), ("a", "480p"), ("b", "source")]:
        write_segment(base, stream, variant, scenario.H2, 2 * S, b"x")
    os.makedirs(os.path.join(base, ".hidden", "v"))
    coverages, out = _check(base, scenario)
    assert sorted((c.stream, c.variant) for c in coverages) == [
        ("a", "480p"), ("a", "source"), ("b", "source")]
    assert sorted(os.listdir(out)) == sorted(
        ["index.html", "a-480p.png", "a-480p.json", "a-source.png", "a-source.json",
         "b-source.png", "b-source.json"])
    # --stream and --variants restrict the check
    coverages, _ = _check(base, scenario, extra=["--stream", "a", "--variants", "source"])
    assert [(c.stream, c.variant) for c in coverages] == [("a", "source")]


def test_names_with_hyphens_get_files_of_their_own(tmp_path, scenario):
    from support.archive import write_segment
    base = str(tmp_path)
    # Written as STREAM-VARIANT, both pairs used to be "a-b-c": one map overwrote the other.
    write_segment(base, "a-b", "c", scenario.H2, 2 * S, b"x")
    write_segment(base, "a", "b-c", scenario.H2 + 2 * S, 2 * S, b"y")
    write_segment(base, "a", "b%2Dc", scenario.H2, 2 * S, b"z")  # looks like an escape
    _, out = _check(base, scenario)
    assert sorted(os.listdir(out)) == sorted(
        ["index.html", "a%2Db-c.png", "a%2Db-c.json", "a-b%2Dc.png", "a-b%2Dc.json",
         "a-b%252Dc.png", "a-b%252Dc.json"])
    for name, pair in [("a%2Db-c", ("a-b", "c")), ("a-b%2Dc", ("a", "b-c")),
                       ("a-b%252Dc", ("a", "b%2Dc"))]:
        with open(os.path.join(out, name + ".json")) as f:
            summary = json.load(f)
        assert (summary["stream"], summary["variant"]) == pair
    page = open(os.path.join(out, "index.html")).read()
    assert '<img src="a-b%252Dc.png?' in page  # the href is quoted: %25 is a literal '%'


def test_a_variant_that_goes_is_forgotten(tmp_path, scenario):
    import shutil
    from support.archive import write_segment
    base = str(tmp_path)
    for variant in ("source", "480p"):
        write_segment(base, "a", variant, scenario.H2, 2 * S, b"x")
    registry = prom.CollectorRegistry()
    args = parse_args(["--base-dir", base])
    checker = Checker(args, Metrics(registry), NodeList([]))
    _check(base, scenario, checker=checker)
    labels = {"stream": "a", "variant": "480p", "hours": "all"}
    assert registry.get_sample_value("segment_coverage_holes", labels) == 1
    shutil.rmtree(os.path.join(base, "a", "480p"))
    coverages, _ = _check(base, scenario, checker=checker)
    assert [c.variant for c in coverages] == ["source"]
    assert registry.get_sample_value("segment_coverage_holes", labels) is None
    assert registry.get_sample_value("segment_coverage_holes", dict(labels, variant="source")) == 1
    assert list(checker.scanner._cache) == [("a", "source")]


def test_a_full_disk_is_logged_once_a_minute_and_outputs_return(tmp_path, scenario,
                                                                 monkeypatch, caplog):
    # The full disk is injected at the file writes (ENOSPC); the archive and scans are real.
    import errno
    import logging

    from segment_coverage import main
    from support.archive import write_segment
    base = str(tmp_path)
    write_segment(base, "a", "source", scenario.H2, 2 * S, b"x")
    full = {"on": True}
    real_write = main.atomic_write

    def atomic_write(path, data):
        if full["on"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, data)

    monkeypatch.setattr(main, "atomic_write", atomic_write)
    args = parse_args(["--base-dir", base])
    checker = Checker(args, Metrics(prom.CollectorRegistry()), NodeList([]))
    with caplog.at_level(logging.INFO, logger="segment_coverage"):
        for _ in range(3):
            coverages, failures = checker.check(now=scenario.NOW)
            assert failures == 2   # the variant's files and the page
        full["on"] = False
        coverages, failures = checker.check(now=scenario.NOW)
    assert failures == 0 and [c.variant for c in coverages] == ["source"]
    assert sorted(os.listdir(os.path.join(base, ".coverage"))) == [
        "a-source.json", "a-source.png", "index.html"]
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len([m for m in messages if "disk full" in m]) == 1
    assert any("disk space is back" in m for m in messages)
