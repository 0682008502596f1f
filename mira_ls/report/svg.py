"""Small inline SVG charts: horizontal bars, columns, an arc diagram and share bars.

No chart library and no script: the report must open offline in any browser. Every piece
of text that reaches the SVG goes through ``esc``, and each chart is returned as
``Markup`` (safe HTML), so the page inserts it as it is and escapes everything else. No
``xmlns`` attribute is needed for SVG inside HTML, so the file names no URL at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#3867d6", "#f7b731", "#20bf6b", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231")
OTHER = "#b8c2cc"
FONT = 12
CHAR_W = 6.6  # average width of a 12px sans-serif character, for laying out labels


def esc(text: object) -> Markup:
    return escape(str(text))


def _n(x: float) -> str:
    """Coordinates with at most one decimal, so the markup stays small and stable."""
    r = round(x, 1)
    return str(int(r)) if r == int(r) else f"{r:.1f}"


def clip(text: str, max_chars: int) -> str:
    """Keep the end of a long path (the file name matters most)."""
    if len(text) <= max_chars:
        return text
    return "…" + text[-(max_chars - 1) :]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as printed next to the bar
    title: str = ""  # tooltip


def hbars(
    bars: Sequence[Bar], *, width: int = 760, label_chars: int = 44, color: str = PALETTE[0]
) -> Markup:
    """One horizontal bar per row, longest first as given; label left, value right."""
    if not bars:
        return Markup()
    row_h, gap = 20, 6
    label_w = int(label_chars * CHAR_W) + 8
    value_w = max(len(b.shown) for b in bars) * CHAR_W + 12
    bar_w = max(40.0, width - label_w - value_w)
    top = max((b.value for b in bars), default=0) or 1
    height = len(bars) * (row_h + gap) + gap
    out = [
        f'<svg class="chart hbars" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    for i, b in enumerate(bars):
        y = gap + i * (row_h + gap)
        w = max(1.0, bar_w * max(0.0, b.value) / top)
        tip = esc(b.title or f"{b.label}: {b.shown}")
        out.append(
            f"<g><title>{tip}</title>"
            f'<text x="{label_w - 8}" y="{_n(y + row_h * 0.72)}" text-anchor="end" '
            f'font-size="{FONT}">{esc(clip(b.label, label_chars))}</text>'
            f'<rect x="{label_w}" y="{y}" width="{_n(w)}" height="{row_h}" rx="3" '
            f'fill="{color}"/>'
            f'<text x="{_n(label_w + w + 6)}" y="{_n(y + row_h * 0.72)}" '
            f'font-size="{FONT}">{esc(b.shown)}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def columns(
    values: Sequence[float],
    labels: Sequence[str],
    *,
    width: int = 760,
    height: int = 160,
    color: str = PALETTE[0],
    highlight: Sequence[bool] | None = None,
    shown: Sequence[str] | None = None,
    axis_label: str = "",
) -> Markup:
    """Vertical bars over time (oldest left); the tallest value is written on the axis.

    ``highlight`` colours some columns red (failed runs); ``shown`` are tooltip values.
    """
    if not values:
        return Markup()
    pad_l, pad_b, pad_t = 44, 22, 16
    n = len(values)
    plot_w = width - pad_l - 8
    plot_h = height - pad_b - pad_t
    slot = plot_w / n
    bar_w = max(2.0, slot * 0.7)
    top = max(values) if max(values) > 0 else 1
    base = pad_t + plot_h
    out = [
        f'<svg class="chart columns" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">',
        f'<line x1="{pad_l}" y1="{_n(base)}" x2="{width - 8}" y2="{_n(base)}" stroke="#999"/>',
        f'<text x="{pad_l - 6}" y="{_n(pad_t + 4)}" text-anchor="end" font-size="11">'
        f"{esc(_short(top))}</text>",
        f'<text x="{pad_l - 6}" y="{_n(base)}" text-anchor="end" font-size="11">0</text>',
    ]
    if axis_label:
        out.append(
            f'<text x="{pad_l}" y="{pad_t - 4}" font-size="11" fill="#555">{esc(axis_label)}</text>'
        )
    for i, v in enumerate(values):
        h = plot_h * max(0.0, v) / top
        x = pad_l + i * slot + (slot - bar_w) / 2
        fill = "#eb3b5a" if highlight is not None and highlight[i] else color
        tip = f"{labels[i]}: {shown[i] if shown is not None else _short(v)}"
        out.append(
            f"<g><title>{esc(tip)}</title>"
            f'<rect x="{_n(x)}" y="{_n(base - max(h, 1 if v > 0 else 0))}" width="{_n(bar_w)}" '
            f'height="{_n(max(h, 1 if v > 0 else 0))}" fill="{fill}"/></g>'
        )
    # first and last labels under the axis, so the time span is readable
    out.append(
        f'<text x="{pad_l}" y="{height - 6}" font-size="11" fill="#555">{esc(labels[0])}</text>'
    )
    if n > 1:
        out.append(
            f'<text x="{width - 8}" y="{height - 6}" text-anchor="end" font-size="11" '
            f'fill="#555">{esc(labels[-1])}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def _short(v: float) -> str:
    if v == int(v):
        return f"{int(v):,}"
    return f"{v:,.4g}"


@dataclass(frozen=True)
class Link:
    a: int  # node index
    b: int
    weight: float  # stroke width scale (shared commits)
    strength: float  # 0..1 opacity scale (confidence)
    title: str


def arc_diagram(
    nodes: Sequence[str], links: Sequence[Link], *, width: int = 760, label_chars: int = 48
) -> Markup:
    """Files on a vertical axis, each co-change pair an arc on the right: thicker arcs share
    more commits, darker arcs are more tightly coupled."""
    if not nodes or not links:
        return Markup()
    row_h = 22
    label_w = int(label_chars * CHAR_W) + 12
    axis_x = label_w
    height = len(nodes) * row_h + 16
    arc_room = width - axis_x - 16
    top_w = max(lk.weight for lk in links) or 1
    out = [
        f'<svg class="chart arcs" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]

    def y(i: int) -> float:
        return 8 + i * row_h + row_h / 2

    for lk in sorted(links, key=lambda k: k.strength):
        y1, y2 = y(lk.a), y(lk.b)
        r = abs(y2 - y1) / 2
        bulge = min(arc_room, 24 + 1.6 * abs(y2 - y1))  # far pairs reach further out
        sw = 1.5 + 6.0 * lk.weight / top_w
        op = 0.25 + 0.7 * max(0.0, min(1.0, lk.strength))
        mid = (y1 + y2) / 2
        out.append(
            f"<g><title>{esc(lk.title)}</title>"
            f'<path d="M {_n(axis_x)} {_n(y1)} C {_n(axis_x + bulge)} {_n(mid - r)}, '
            f'{_n(axis_x + bulge)} {_n(mid + r)}, {_n(axis_x)} {_n(y2)}" fill="none" '
            f'stroke="{PALETTE[4]}" stroke-opacity="{op:.2f}" stroke-width="{sw:.1f}"/></g>'
        )
    for i, name in enumerate(nodes):
        out.append(
            f"<g><title>{esc(name)}</title>"
            f'<circle cx="{axis_x}" cy="{_n(y(i))}" r="4" fill="{PALETTE[0]}"/>'
            f'<text x="{axis_x - 10}" y="{_n(y(i) + 4)}" text-anchor="end" '
            f'font-size="{FONT}">{esc(clip(name, label_chars))}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def share_bar(parts: Sequence[tuple[str, float]], *, width: int = 220, height: int = 14) -> Markup:
    """A stacked bar of shares (0..1) in palette order; the rest of 1.0 is grey."""
    out = [
        f'<svg class="share" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    x = 0.0
    for i, (label, share) in enumerate(parts):
        w = min(width * max(0.0, min(1.0, share)), width - x)
        if w <= 0:
            continue
        out.append(
            f"<g><title>{esc(label)}: {share * 100:.0f}%</title>"
            f'<rect x="{_n(x)}" y="0" width="{_n(w)}" height="{height}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/></g>'
        )
        x += w
    if x < width - 0.5:
        out.append(
            f'<g><title>others</title><rect x="{_n(x)}" y="0" width="{_n(width - x)}" '
            f'height="{height}" fill="{OTHER}"/></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def gauge(fraction: float | None, *, width: int = 160, height: int = 10) -> Markup:
    """A thin bar filled to ``fraction`` (spent of a limit); red past 90%."""
    f = 0.0 if fraction is None or math.isnan(fraction) else max(0.0, min(1.0, fraction))
    color = "#eb3b5a" if f >= 0.9 else PALETTE[2]
    return Markup(
        f'<svg class="gauge" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img"><rect width="{width}" height="{height}" rx="3" fill="#e8ecef"/>'
        f'<rect width="{_n(width * f)}" height="{height}" rx="3" fill="{color}"/></svg>'
    )
