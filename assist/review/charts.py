"""Charts drawn by the server as inline SVG: no script, no CDN. Every text is escaped."""

from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#0b63c5", "#d9730d", "#2f9e44", "#9c36b5", "#c92a2a")
Format = Callable[[float], str]


def _number(value: float) -> str:
    return f"{value:.3g}"


def bar_chart(
    rows: Sequence[tuple[str, float | None]],
    *,
    title: str,
    value_format: Format = _number,
    width: int = 640,
    bar_height: int = 22,
) -> SafeString:
    """Horizontal bars, one per (label, value); a missing value draws no bar and says so."""
    label_width, gap, top = 220, 6, 28
    height = top + len(rows) * (bar_height + gap) + 8
    largest = max((value for _, value in rows if value is not None), default=0) or 1
    span = width - label_width - 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(rows):
        y = top + index * (bar_height + gap)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" '
            f'text-anchor="end">{escape(label[:32])}</text>'
        )
        if value is None:
            parts.append(
                f'<text x="{label_width}" y="{y + bar_height * 0.7:.1f}" class="muted">'
                "no data</text>"
            )
            continue
        length = max(1.0, span * value / largest)
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{COLOURS[0]}"/>'
        )
        parts.append(
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height * 0.7:.1f}">'
            f"{escape(value_format(value))}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()


def line_chart(
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    value_format: Format = _number,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """One line per series over shared x labels; a None breaks the line."""
    left, right, top, bottom = 56, 16, 28, 40
    values = [v for points in series.values() for v in points if v is not None]
    high = max(values, default=1) or 1
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(index: int, value: float) -> str:
        return f"{left + index * step:.1f},{top + plot_h * (1 - value / high):.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" '
        'stroke="#9aa5b1"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{escape(value_format(high))}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    if x_labels:
        last = len(x_labels) - 1
        for index in sorted({0, len(x_labels) // 2, last}):
            # The first label starts at its tick and the last ends at its own, so neither
            # runs past the plot's edge (a centred last label was cut off by the viewBox).
            anchor = "start" if index == 0 and last else "end" if index == last else "middle"
            parts.append(
                f'<text x="{left + index * step:.1f}" y="{height - bottom + 18}" '
                f'text-anchor="{anchor}">{escape(x_labels[index])}</text>'
            )
    for number, (name, points) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        segment: list[str] = []
        segments = [segment]
        for index, value in enumerate(points):
            if value is None:
                segment = []
                segments.append(segment)
            else:
                segment.append(xy(index, value))
        for run in segments:
            if len(run) == 1:
                x, y = run[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
            elif run:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{" ".join(run)}"/>'
                )
        # The swatch is a shape filled with the series' colour: the page's stylesheet sets the
        # colour of every chart text, which overrode a coloured text glyph.
        legend_x = left + number * 200
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
            f'fill="{colour}" class="swatch"/>'
            f'<text x="{legend_x + 14}" y="{height - 5}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()
