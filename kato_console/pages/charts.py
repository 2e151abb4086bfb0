"""History charts as SVG drawn on the server (docs/monitoring.md, "Charts").

A chart is a fixed-size ``<svg>`` with a ``viewBox``, so it scales to the width of a phone: the
latency's average as a line, its p95 as a lighter line, and under them one bar per point for the
probes (green when all passed, amber when some failed, red when all failed, nothing without
probes). Colours come from classes in the console's stylesheet and geometry from attributes, so
the Content-Security-Policy (no inline style) holds. Every value that reaches the markup is a
number or passes through Django's escaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from instances.history import Point, Window

WIDTH, HEIGHT = 720, 190
LEFT, RIGHT, TOP = 52, 8, 10
PLOT_BOTTOM = 140  # the latency area ends here
BAR_TOP, BAR_HEIGHT = 150, 14
AXIS_Y = 182


# A chart window's and an uptime figure's names as the page says them (instances.history's keys).
WINDOW_LABELS = {"24h": _("24 hours"), "7d": _("7 days"), "30d": _("30 days"), "1y": _("1 year")}


def window_label(window: Window) -> str:
    """The window's span in words ("24 hours"), in the page's language."""
    return str(WINDOW_LABELS.get(window.key, window.label))


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 < value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover — the loop always returns


def _format_ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g} s"
    return f"{value:g} ms"


def _tick_label(moment: datetime, window: Window) -> str:
    if window.span <= timedelta(days=1):
        return moment.strftime("%H:%M")
    if window.span <= timedelta(days=31):
        return dateformat.format(moment, pgettext("chart axis, a day", "d M"))
    return dateformat.format(moment, pgettext("chart axis, a month", "M Y"))


def summary(points: Sequence[Point], window: Window) -> str:
    """The chart in one sentence, for screen readers and for whoever reads the page as text."""
    probes = sum(point.probes for point in points)
    label = window_label(window)
    if not probes:
        return gettext("No probes in the last %(window)s.") % {"window": label}
    failures = sum(point.failures for point in points)
    passed = probes - failures
    average = sum((point.latency_avg or 0) * (point.probes - point.failures) for point in points)
    worst = max((point.latency_p95 or 0 for point in points), default=0)
    text = ngettext(
        "%(probes)d probe in the last %(window)s, %(failures)d failed",
        "%(probes)d probes in the last %(window)s, %(failures)d failed",
        probes,
    ) % {"probes": probes, "window": label, "failures": failures}
    if passed:
        text += gettext("; latency %(average)s ms on average, p95 up to %(worst)s ms") % {
            "average": f"{average / passed:.1f}",
            "worst": f"{worst:.1f}",
        }
    return text + pgettext("end of sentence", ".")


def chart(points: Sequence[Point], window: Window, *, now: datetime, title: str) -> SafeString:
    """The SVG of ``points`` over ``window`` ending at ``now``."""
    start = now - window.span
    span_s = window.span.total_seconds()
    plot_width = WIDTH - LEFT - RIGHT

    def x_of(moment: datetime) -> float:
        return LEFT + plot_width * max(0.0, min(1.0, (moment - start).total_seconds() / span_s))

    top = _nice_ceiling(max((point.latency_p95 or point.latency_avg or 0 for point in points), default=0))

    def y_of(latency: float) -> float:
        return PLOT_BOTTOM - (PLOT_BOTTOM - TOP) * min(latency, top) / top

    bar_width = max(1.0, plot_width * window.step_s / span_s - 0.5)
    parts: list[str] = []
    # Grid and the latency axis.
    for fraction in (0, 0.5, 1):
        y = y_of(top * fraction)
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                LEFT - 6,
                f"{y + 4:.1f}",
                _format_ms(top * fraction),
            )
        )
    # The lines, broken where a point is missing.
    for css, value in (("chart-p95", "latency_p95"), ("chart-avg", "latency_avg")):
        path = _path(points, window, x_of, y_of, value)
        if path:
            parts.append(format_html('<path class="{}" d="{}"/>', css, path))
    # The probes' bars.
    for point in points:
        if not point.probes:
            continue
        state = "down" if point.failures >= point.probes else "some" if point.failures else "up"
        parts.append(
            format_html(
                '<rect class="chart-{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
                state,
                f"{x_of(point.start):.1f}",
                BAR_TOP,
                f"{bar_width:.1f}",
                BAR_HEIGHT,
                gettext("%(start)s UTC: %(passed)d of %(probes)d passed")
                % {
                    "start": f"{point.start:%Y-%m-%d %H:%M}",
                    "passed": point.probes - point.failures,
                    "probes": point.probes,
                },
            )
        )
    # The time axis: its two ends and the middle.
    for fraction, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        moment = start + window.span * fraction
        parts.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="{}">{}</text>',
                f"{x_of(moment):.1f}",
                AXIS_Y,
                anchor,
                _tick_label(moment, window),
            )
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" focusable="false">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        gettext("%(title)s: %(summary)s") % {"title": title, "summary": summary(points, window)},
        title,
        mark_safe("".join(parts)),  # noqa: S308 — each part was built by format_html
    )


def _path(points: Sequence[Point], window: Window, x_of: object, y_of: object, value: str) -> str:
    commands: list[str] = []
    previous: datetime | None = None
    for point in points:
        latency = getattr(point, value)
        if latency is None:
            previous = None
            continue
        joined = previous is not None and (point.start - previous).total_seconds() <= window.step_s
        x, y = x_of(point.start + timedelta(seconds=window.step_s / 2)), y_of(latency)  # type: ignore[operator]
        commands.append(f"{'L' if joined else 'M'}{x:.1f},{y:.1f}")
        previous = point.start
    return "".join(commands)
