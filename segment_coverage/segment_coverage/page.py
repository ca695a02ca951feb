"""The HTML page showing every node's coverage maps, refreshing itself (pure: returns text)."""

from html import escape
from urllib.parse import quote

from .coverage_map import COLOURS, LEGEND
from .names import map_file, summary_file

ROWS = [  # (label, Figures attribute, is a duration)
    ("holes", "holes", False),
    ("hole seconds", "hole_duration", True),
    ("overlaps", "overlaps", False),
    ("overlap seconds", "overlap_duration", True),
    ("covered seconds", "covered", True),
    ("partials chosen", "partials_chosen", False),
    ("duplicate files", "duplicates", False),
    ("unparseable files", "unparseable", False),
]

STYLE = """
body { font-family: sans-serif; margin: 1em; }
table { border-collapse: collapse; margin-bottom: .5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
figure { margin: .5em 0 1.5em 0; }
figcaption { font-weight: bold; margin-bottom: 4px; }
img { max-width: 100%; border: 1px solid #ddd; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: middle; }
"""


def render_page(coverages, nodes, generated, refresh_seconds):
    """The page: for each VariantCoverage, this node's figures and map, then each peer node's map.
    `nodes`: list of (name, base URL) of peer restreamers; `generated`: naive UTC datetime."""
    refresh = max(1, round(refresh_seconds))
    stamp = generated.strftime("%Y%m%dT%H%M%S")
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f'<meta http-equiv="refresh" content="{refresh}">',
        "<title>Segment coverage</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Segment coverage</h1>",
        f"<p>Generated {escape(generated.isoformat(timespec='seconds'))} UTC; this page reloads "
        f"every {refresh} s. Each map row is one UTC hour (newest at the top), each pixel "
        f"2 seconds. {_legend()}</p>",
    ]
    if not coverages:
        parts.append("<p>No streams found.</p>")
    for coverage in coverages:
        parts.append(_section(coverage, nodes, stamp))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _legend():
    items = []
    for state, name in LEGEND:
        r, g, b = COLOURS[state]
        items.append(f'<span class="swatch" style="background: rgb({r},{g},{b})"></span> '
                     f"{escape(name)}")
    return " &nbsp; ".join(items)


def _section(coverage, nodes, stamp):
    stream, variant = coverage.stream, coverage.variant
    png, js = quote(map_file(stream, variant)), quote(summary_file(stream, variant))
    parts = [f"<h2>{escape(stream)} / {escape(variant)}</h2>", _table(coverage)]
    parts.append(
        f'<figure><figcaption>this node (<a href="{js}">JSON summary</a>)</figcaption>'
        f'<img src="{png}?t={stamp}" alt="coverage map of {escape(stream)}/{escape(variant)}">'
        "</figure>")
    for name, url in nodes:
        src = f"{url.rstrip('/')}/coverage/{png}?t={stamp}"
        parts.append(
            f"<figure><figcaption>{escape(name)} ({escape(url)})</figcaption>"
            f'<img src="{escape(src)}" loading="lazy" '
            f'alt="coverage map of {escape(name)} not available"></figure>')
    return "\n".join(parts)


def _table(coverage):
    current, previous = coverage.current, coverage.previous
    columns = [
        ("current hour", current.figures if current else None),
        ("previous hour", previous.figures if previous else None),
        ("all hours", coverage.totals),
    ]
    head = "".join(f"<th>{label}</th>" for label, _ in columns)
    rows = [f"<table><tr><th></th>{head}</tr>"]
    for label, attr, is_duration in ROWS:
        cells = "".join(
            f"<td>{_format(getattr(figures, attr) if figures else None, is_duration)}</td>"
            for _, figures in columns)
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _format(value, is_duration):
    if value is None:
        return "-"
    if is_duration:
        return f"{value.total_seconds():.3f}"
    return str(value)
