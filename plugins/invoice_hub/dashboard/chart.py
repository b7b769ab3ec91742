"""The volume chart: invoices per day as an inline SVG bar chart, drawn here (no chart library, no CDN).

Colours come from the page's CSS (classes ``bar``, ``bar-rejected``, ``axis``), so the chart follows
the light and dark themes without being redrawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 720, 180
_LEFT, _BOTTOM, _TOP = 36, 22, 10


def volume_svg(days: Sequence[tuple[dt.date, int, int]], title: str) -> str:
    """``days``: (day, invoices, rejected files) in date order, one per day shown (zeros included)."""
    plot_w, plot_h = WIDTH - _LEFT - 4, HEIGHT - _BOTTOM - _TOP
    peak = max([total + rejected for _, total, rejected in days] + [1])
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.7, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{WIDTH - 4}" y2="{_TOP + plot_h}"/>',
        f'<text class="label" x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end">{peak}</text>',
        f'<text class="label" x="{_LEFT - 4}" y="{_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for index, (day, total, rejected) in enumerate(days):
        x = _LEFT + index * step + (step - bar) / 2
        good_h = plot_h * total / peak
        bad_h = plot_h * rejected / peak
        tip = f"{day.isoformat()}: {total} invoice(s), {rejected} rejected file(s)"
        parts.append(f"<g><title>{escape(tip)}</title>")
        if total:
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{_TOP + plot_h - good_h:.1f}" '
                f'width="{bar:.1f}" height="{good_h:.1f}"/>'
            )
        if rejected:
            parts.append(
                f'<rect class="bar-rejected" x="{x:.1f}" y="{_TOP + plot_h - good_h - bad_h:.1f}" '
                f'width="{bar:.1f}" height="{bad_h:.1f}"/>'
            )
        parts.append("</g>")
        last = len(days) - 1
        if (index % 7 == 0 and last - index >= 4) or index == last:  # labels that do not overlap
            parts.append(
                f'<text class="label" x="{x + bar / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{day.strftime('%d %b')}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
