"""Small inline SVG charts: horizontal bars, columns, an arc diagram and share bars.

No chart library and no script: the report must open offline in any browser. Each piece
of markup is a ``markupsafe.Markup`` template, so every value put into one is escaped, and
each chart is returned as ``Markup`` for the page to insert as it is. No ``xmlns``
attribute is needed for SVG inside HTML, so the file names no URL at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

PALETTE = ("#3867d6", "#f7b731", "#20bf6b", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231")
OTHER = "#b8c2cc"
FONT = 12
CHAR_W = 6.6  # average width of a 12px sans-serif character, for laying out labels


def _svg(cls: str, width: int, height: int, body: Sequence[Markup]) -> Markup:
    return Markup(
        '<svg class="{cls}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">{body}</svg>'
    ).format(cls=cls, w=width, h=height, body=Markup("").join(body))


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
    out = []
    for i, b in enumerate(bars):
        y = gap + i * (row_h + gap)
        w = max(1.0, bar_w * max(0.0, b.value) / top)
        out.append(
            Markup(
                "<g><title>{tip}</title>"
                '<text x="{lx}" y="{ty}" text-anchor="end" font-size="{font}">{label}</text>'
                '<rect x="{bx}" y="{y}" width="{w}" height="{row_h}" rx="3" fill="{color}"/>'
                '<text x="{vx}" y="{ty}" font-size="{font}">{shown}</text></g>'
            ).format(
                tip=b.title or f"{b.label}: {b.shown}",
                lx=label_w - 8,
                ty=_n(y + row_h * 0.72),
                font=FONT,
                label=clip(b.label, label_chars),
                bx=label_w,
                y=y,
                w=_n(w),
                row_h=row_h,
                color=color,
                vx=_n(label_w + w + 6),
                shown=b.shown,
            )
        )
    return _svg("chart hbars", width, height, out)


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
        Markup(
            '<line x1="{x1}" y1="{base}" x2="{x2}" y2="{base}" stroke="#999"/>'
            '<text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{top}</text>'
            '<text x="{tx}" y="{base}" text-anchor="end" font-size="11">0</text>'
        ).format(
            x1=pad_l, x2=width - 8, base=_n(base), tx=pad_l - 6, ty=_n(pad_t + 4), top=_short(top)
        )
    ]
    if axis_label:
        out.append(
            Markup('<text x="{x}" y="{y}" font-size="11" fill="#555">{label}</text>').format(
                x=pad_l, y=pad_t - 4, label=axis_label
            )
        )
    for i, v in enumerate(values):
        h = plot_h * max(0.0, v) / top
        x = pad_l + i * slot + (slot - bar_w) / 2
        fill = "#eb3b5a" if highlight is not None and highlight[i] else color
        drawn = max(h, 1 if v > 0 else 0)
        out.append(
            Markup(
                '<g><title>{tip}</title><rect x="{x}" y="{y}" width="{w}" height="{h}" '
                'fill="{fill}"/></g>'
            ).format(
                tip=f"{labels[i]}: {shown[i] if shown is not None else _short(v)}",
                x=_n(x),
                y=_n(base - drawn),
                w=_n(bar_w),
                h=_n(drawn),
                fill=fill,
            )
        )
    # first and last labels under the axis, so the time span is readable
    out.append(
        Markup('<text x="{x}" y="{y}" font-size="11" fill="#555">{label}</text>').format(
            x=pad_l, y=height - 6, label=labels[0]
        )
    )
    if n > 1:
        out.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="end" font-size="11" fill="#555">{label}</text>'
            ).format(x=width - 8, y=height - 6, label=labels[-1])
        )
    return _svg("chart columns", width, height, out)


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
    out = []

    def y(i: int) -> float:
        return 8 + i * row_h + row_h / 2

    for lk in sorted(links, key=lambda k: k.strength):
        y1, y2 = y(lk.a), y(lk.b)
        r = abs(y2 - y1) / 2
        bulge = min(arc_room, 24 + 1.6 * abs(y2 - y1))  # far pairs reach further out
        mid = (y1 + y2) / 2
        out.append(
            Markup(
                '<g><title>{title}</title><path d="M {ax} {y1} C {bx} {c1}, {bx} {c2}, {ax} {y2}" '
                'fill="none" stroke="{color}" stroke-opacity="{op:.2f}" stroke-width="{sw:.1f}"/>'
                "</g>"
            ).format(
                title=lk.title,
                ax=_n(axis_x),
                y1=_n(y1),
                bx=_n(axis_x + bulge),
                c1=_n(mid - r),
                c2=_n(mid + r),
                y2=_n(y2),
                color=PALETTE[4],
                op=0.25 + 0.7 * max(0.0, min(1.0, lk.strength)),
                sw=1.5 + 6.0 * lk.weight / top_w,
            )
        )
    for i, name in enumerate(nodes):
        out.append(
            Markup(
                '<g><title>{name}</title><circle cx="{ax}" cy="{cy}" r="4" fill="{color}"/>'
                '<text x="{tx}" y="{ty}" text-anchor="end" font-size="{font}">{label}</text></g>'
            ).format(
                name=name,
                ax=axis_x,
                cy=_n(y(i)),
                color=PALETTE[0],
                tx=axis_x - 10,
                ty=_n(y(i) + 4),
                font=FONT,
                label=clip(name, label_chars),
            )
        )
    return _svg("chart arcs", width, height, out)


def share_bar(parts: Sequence[tuple[str, float]], *, width: int = 220, height: int = 14) -> Markup:
    """A stacked bar of shares (0..1) in palette order; the rest of 1.0 is grey."""
    out = []
    x = 0.0
    for i, (label, share) in enumerate(parts):
        w = min(width * max(0.0, min(1.0, share)), width - x)
        if w <= 0:
            continue
        out.append(
            Markup(
                '<g><title>{label}: {pct:.0f}%</title><rect x="{x}" y="0" width="{w}" '
                'height="{h}" fill="{color}"/></g>'
            ).format(
                label=label,
                pct=share * 100,
                x=_n(x),
                w=_n(w),
                h=height,
                color=PALETTE[i % len(PALETTE)],
            )
        )
        x += w
    if x < width - 0.5:
        out.append(
            Markup(
                '<g><title>others</title><rect x="{x}" y="0" width="{w}" height="{h}" '
                'fill="{color}"/></g>'
            ).format(x=_n(x), w=_n(width - x), h=height, color=OTHER)
        )
    return _svg("share", width, height, out)


def gauge(fraction: float | None, *, width: int = 160, height: int = 10) -> Markup:
    """A thin bar filled to ``fraction`` (spent of a limit); red past 90%."""
    f = 0.0 if fraction is None or math.isnan(fraction) else max(0.0, min(1.0, fraction))
    color = "#eb3b5a" if f >= 0.9 else PALETTE[2]
    return _svg(
        "gauge",
        width,
        height,
        [
            Markup(
                '<rect width="{w}" height="{h}" rx="3" fill="#e8ecef"/>'
                '<rect width="{fw}" height="{h}" rx="3" fill="{color}"/>'
            ).format(w=width, h=height, fw=_n(width * f), color=color)
        ],
    )
