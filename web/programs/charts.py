"""Held-vs-missed bar charts drawn on the server as SVG geometry (no JavaScript, no CDN): the
template draws the rectangles and the text; a table beside each chart holds the same numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from scheduler.services.dashboard import Bar


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    kind: str  # held | missed
    title: str  # what a pointer or a screen reader gets for this bar


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rects: tuple[Rect, ...]
    labels: tuple[Tick, ...]
    gridlines: tuple[Tick, ...]  # y positions with their value
    maximum: int
    summary: str  # the chart's description in words


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return max(step * 4, 4)
    return value


def columns(bars: Sequence[Bar], *, what: str, noun: str) -> Chart:
    """Vertical pairs of columns (held, missed) per group: the weekly chart."""
    width, height, left, bottom, top = 640, 220, 36, 36, 10
    maximum = _nice_max(max([b.held for b in bars] + [b.missed for b in bars] + [0]))
    plot_h = height - bottom - top
    slot = (width - left - 8) / max(len(bars), 1)
    bar_w = max(slot * 0.35, 2)
    rects, labels = [], []
    for i, bar in enumerate(bars):
        x0 = left + i * slot + slot * 0.12
        for j, (kind, value) in enumerate((("held", bar.held), ("missed", bar.missed))):
            h = plot_h * value / maximum
            rects.append(Rect(round(x0 + j * bar_w, 1), round(top + plot_h - h, 1), round(bar_w, 1), round(h, 1),
                              kind, f"{what} {bar.label}: {value} {kind}"))
        labels.append(Tick(round(left + i * slot + slot / 2, 1), height - bottom + 16, bar.label))
    grid = tuple(Tick(left, round(top + plot_h - plot_h * v / maximum, 1), str(v))
                 for v in range(0, maximum + 1, max(maximum // 4, 1)))
    held, missed = sum(b.held for b in bars), sum(b.missed for b in bars)
    summary = (f"{len(bars)} {noun}: {held} sessions held and {missed} missed in all. "
               "The table below gives each number.")
    return Chart(width, height, tuple(rects), tuple(labels), grid, maximum, summary)


def rows(bars: Sequence[Bar], *, what: str, noun: str) -> Chart:
    """Horizontal bars (held, missed) per group: the per-mentor chart."""
    width, left, row_h, top = 640, 180, 26, 6
    height = top + row_h * max(len(bars), 1) + 24
    maximum = _nice_max(max([b.held for b in bars] + [b.missed for b in bars] + [0]))
    plot_w = width - left - 16
    rects, labels = [], []
    for i, bar in enumerate(bars):
        y0 = top + i * row_h
        for j, (kind, value) in enumerate((("held", bar.held), ("missed", bar.missed))):
            rects.append(Rect(left, y0 + 2 + j * 11, round(plot_w * value / maximum, 1), 10, kind,
                              f"{bar.label}: {value} {kind}"))
        text = bar.label if len(bar.label) <= 26 else bar.label[:25] + "…"
        labels.append(Tick(left - 6, y0 + 16, text))
    grid = tuple(Tick(round(left + plot_w * v / maximum, 1), height - 6, str(v))
                 for v in range(0, maximum + 1, max(maximum // 4, 1)))
    held, missed = sum(b.held for b in bars), sum(b.missed for b in bars)
    summary = (f"{len(bars)} {noun} with sessions: {held} held and {missed} missed in all. "
               "The table below gives each number.")
    return Chart(width, height, tuple(rects), tuple(labels), grid, maximum, summary)
