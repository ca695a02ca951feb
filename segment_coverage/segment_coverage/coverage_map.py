"""Render the coverage map of one stream/variant as a PNG (pure: bytes in, bytes out).

One row per hour, newest at the top; across, the hour's PIXELS_PER_HOUR pixels of PIXEL each.
The left margin names each hour (and the day, at the first hour of each day and on the top
row); a dark line separates days. The header holds the title, a legend and the minute axis.
"""

import io

from PIL import Image, ImageDraw, ImageFont

from .pixels import FULL, MISSING, NONE, PARTIAL, PIXEL, PIXELS_PER_HOUR

# Palette indices: the pixel states are their own indices, so an hour's state bytes are image rows.
BACKGROUND, TEXT, SEPARATOR, TICK = 4, 5, 6, 7
COLOURS = {
    NONE: (225, 225, 225),
    FULL: (46, 160, 67),
    PARTIAL: (240, 170, 0),
    MISSING: (210, 40, 40),
    BACKGROUND: (255, 255, 255),
    TEXT: (0, 0, 0),
    SEPARATOR: (60, 60, 60),
    TICK: (150, 150, 150),
}
LEGEND = [(FULL, "full"), (PARTIAL, "partial / suspect"), (MISSING, "missing"),
          (NONE, "not examined yet")]

MARGIN_LEFT = 100
MARGIN_RIGHT = 10
HEADER = 52
ROW_HEIGHT = 12  # ROW_HEIGHT - 1 data lines and a one-line gap under each hour
WIDTH = MARGIN_LEFT + PIXELS_PER_HOUR + MARGIN_RIGHT
TICK_EVERY = 150  # pixels: 5 minutes at 2 s a pixel


def render_map(title, rows):
    """PNG bytes of the map. `rows`: iterable of (hour datetime, state bytes); any order."""
    rows = sorted(rows, key=lambda row: row[0], reverse=True)
    height = HEADER + max(1, len(rows)) * ROW_HEIGHT + 4
    image = Image.new("P", (WIDTH, height), BACKGROUND)
    image.putpalette(_palette())
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    _draw_header(draw, font, title)
    if rows:
        image.paste(_data_block(rows), (MARGIN_LEFT, HEADER))
        _draw_labels(draw, font, rows)
    else:
        draw.text((MARGIN_LEFT, HEADER), "no hours to show", fill=TEXT, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def pixel_xy(row, index):
    """Image coordinates of the middle of pixel `index` of the `row`-th row from the top."""
    return MARGIN_LEFT + index, HEADER + row * ROW_HEIGHT + (ROW_HEIGHT - 1) // 2


def _palette():
    palette = []
    for index in range(max(COLOURS) + 1):
        palette.extend(COLOURS[index])
    return palette


def _data_block(rows):
    """The hours' states as one image, with a gap line under each hour (dark at day changes)."""
    lines = []
    for i, (hour, states) in enumerate(rows):
        if len(states) != PIXELS_PER_HOUR:
            raise ValueError(f"hour {hour} has {len(states)} pixel states, not {PIXELS_PER_HOUR}")
        lines.append(states * (ROW_HEIGHT - 1))
        next_hour = rows[i + 1][0] if i + 1 < len(rows) else None
        gap = SEPARATOR if next_hour is not None and next_hour.date() != hour.date() else BACKGROUND
        lines.append(bytes([gap]) * PIXELS_PER_HOUR)
    return Image.frombytes("P", (PIXELS_PER_HOUR, len(rows) * ROW_HEIGHT), b"".join(lines))


def _draw_header(draw, font, title):
    draw.text((4, 3), title, fill=TEXT, font=font)
    x = MARGIN_LEFT
    for state, name in LEGEND:
        draw.rectangle([x, 19, x + 9, 28], fill=state, outline=SEPARATOR)
        draw.text((x + 14, 18), name, fill=TEXT, font=font)
        x += 24 + int(draw.textlength(name, font=font))
    draw.text((4, 36), "UTC hour", fill=TEXT, font=font)
    seconds_per_pixel = PIXEL.total_seconds()
    for px in range(0, PIXELS_PER_HOUR + 1, TICK_EVERY):
        x = MARGIN_LEFT + px
        draw.line([x, HEADER - 5, x, HEADER - 1], fill=TICK)
        minute = int(px * seconds_per_pixel // 60)
        label = f":{minute:02d}"
        width = draw.textlength(label, font=font)
        draw.text((min(x - width / 2, WIDTH - width - 1), 36), label, fill=TEXT, font=font)


def _draw_labels(draw, font, rows):
    for i, (hour, _) in enumerate(rows):
        top = HEADER + i * ROW_HEIGHT
        first_of_day = i == 0 or rows[i - 1][0].date() != hour.date()
        label = hour.strftime("%Y-%m-%d %H:00" if first_of_day else "%H:00")
        width = draw.textlength(label, font=font)
        draw.text((MARGIN_LEFT - 6 - width, top), label, fill=TEXT, font=font)
        if i + 1 < len(rows) and rows[i + 1][0].date() != hour.date():
            draw.line([0, top + ROW_HEIGHT - 1, MARGIN_LEFT - 1, top + ROW_HEIGHT - 1],
                      fill=SEPARATOR)
