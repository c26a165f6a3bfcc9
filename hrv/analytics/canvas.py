"""Drawing a chart with Pillow: data coordinates to pixels, lines, fills, dashes, marks and
text, drawn at twice the size and halved (anti-aliased), and the ticks of its axes."""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import math
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT = 1000, 440  # pixels of the PNG
S = 2  # drawn at twice the size, then halved: anti-aliased lines and text
LEFT, RIGHT, TOP, BOTTOM = 70, 990, 31, 352  # the plot area
TEXT = (0, 0, 0)

Point = tuple[float, float]


@functools.cache
def font(size: float) -> Any:
    """Pillow's own font (no font files needed), one object per size per process."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size * S)


def nice_ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Round values between ``lo`` and ``hi`` (steps of 1, 2, 2.5 or 5 x 10^k), at most
    ``most`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return []
    raw = (hi - lo) / max(most - 1, 1)
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + k * step, 10) for k in range(int((hi - first) / step + 1e-9) + 1)]


def date_ticks(first: dt.date, last: dt.date, most: int = 9) -> list[dt.date]:
    """Days to label: every 1, 2, 3, 7 or 14 days, the 1st and 15th, or month starts."""
    span = (last - first).days
    for step in (1, 2, 3, 7, 14):
        if span / step < most:
            return [first + dt.timedelta(days=k) for k in range(0, span + 1, step)]
    for days_of_month, every in (((1, 15), 1), ((1,), 1), ((1,), 2), ((1,), 3), ((1,), 6)):
        out, month = [], dt.date(first.year, first.month, 1)
        while month <= last:
            if (month.month - 1) % every == 0:
                out += [month.replace(day=d) for d in days_of_month]
            month = (month + dt.timedelta(days=32)).replace(day=1)
        out = [d for d in out if first <= d <= last]
        if len(out) < most:
            return out
    return [first, last]


class Canvas:
    """Data coordinates to pixels, and what is drawn with them (all sizes in final px)."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float):
        from PIL import Image, ImageDraw

        self.x0, self.x1, self.y0, self.y1 = x0, x1, y0, y1
        self.image = Image.new("RGB", (WIDTH * S, HEIGHT * S), "white")
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    def px(self, x: float, y: float) -> Point:
        fx = (x - self.x0) / (self.x1 - self.x0)
        fy = (y - self.y0) / (self.y1 - self.y0)
        return (S * (LEFT + fx * (RIGHT - LEFT)), S * (BOTTOM - fy * (BOTTOM - TOP)))

    def polygon(self, points: Sequence[Point], fill: tuple[int, ...]) -> None:
        if len(points) >= 3:
            self.draw.polygon([self.px(*p) for p in points], fill=fill)

    def line(self, points: Sequence[Point], fill: tuple[int, ...], width: float) -> None:
        if len(points) >= 2:
            self.draw.line([self.px(*p) for p in points], fill=fill, width=round(width * S))

    def dashed(self, points: Sequence[Point], fill: tuple[int, ...], width: float) -> None:
        """A line of 6 px dashes and 3 px gaps (matplotlib's "--" at 1.2 pt)."""
        on, off = 6.2 * S, 2.7 * S
        pixels = [self.px(*p) for p in points]
        left, drawing = on, True
        for (ax, ay), (bx, by) in itertools.pairwise(pixels):
            length = math.hypot(bx - ax, by - ay)
            done = 0.0
            while done < length:
                step = min(left, length - done)
                if drawing:
                    t0, t1 = done / length, (done + step) / length
                    self.draw.line(
                        [
                            (ax + (bx - ax) * t0, ay + (by - ay) * t0),
                            (ax + (bx - ax) * t1, ay + (by - ay) * t1),
                        ],
                        fill=fill,
                        width=round(width * S),
                    )
                done += step
                left -= step
                if left <= 1e-9:
                    drawing = not drawing
                    left = on if drawing else off

    def dot(self, x: float, y: float, radius: float, fill: tuple[int, ...], square=False) -> None:
        cx, cy = self.px(x, y)
        r = radius * S
        box = (cx - r, cy - r, cx + r, cy + r)
        (self.draw.rectangle if square else self.draw.ellipse)(box, fill=fill)

    def text(self, xy: Point, text: str, size: float, anchor: str, fill=TEXT) -> None:
        self.draw.text(
            (xy[0] * S, xy[1] * S),
            text,
            font=font(size),
            anchor=anchor,
            fill=fill,
        )

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.image.reduce(S).save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


def runs(points: Sequence[tuple[float, float]]) -> list[list[Point]]:
    """The stretches of a series between missing values (a line breaks at a gap)."""
    out: list[list[Point]] = [[]]
    for x, y in points:
        if math.isfinite(y):
            out[-1].append((x, y))
        elif out[-1]:
            out.append([])
    return [r for r in out if r]


def vertical_label(c: Canvas, text: str, size: float, centre: Point) -> None:
    from PIL import Image, ImageDraw

    face = font(size)
    box = face.getbbox(text)
    w, h = box[2] - box[0] + 2 * S, box[3] - box[1] + 2 * S
    tile = Image.new("L", (w, h), 0)
    ImageDraw.Draw(tile).text((-box[0] + S, -box[1] + S), text, font=face, fill=255)
    tile = tile.rotate(90, expand=True)
    at = (round(centre[0] * S - tile.width / 2), round(centre[1] * S - tile.height / 2))
    c.image.paste(TEXT, (*at, at[0] + tile.width, at[1] + tile.height), tile)
