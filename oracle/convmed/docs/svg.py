"""Small hand-written SVG plots, rendered at build time (no plotting library, no network).

Every plot is a self-contained <svg> string with a <title> for screen readers; the
numbers behind it are always also given in a table on the same page.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html import escape

W, H = 720, 260
PAD_L, PAD_R, PAD_T, PAD_B = 64, 24, 20, 48
INK = "#37474f"
ACCENT = "#1e88e5"
GRID = "#cfd8dc"


def _svg(title: str, body: list[str], width: int = W, height: int = H) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="convmed-plot" role="img" '
            f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" '
            f'font-family="sans-serif" font-size="12">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _days(d: date) -> int:
    return d.toordinal()


def _nice_max(v: Decimal) -> Decimal:
    if v <= 0:
        return Decimal(1)
    for step in (Decimal(1), Decimal(2), Decimal(5), Decimal(10), Decimal(20), Decimal(50), Decimal(100),
                 Decimal(200), Decimal(500), Decimal(1000), Decimal(2000), Decimal(5000), Decimal(10000)):
        if v <= step * 5:
            return (v / step).to_integral_value(rounding="ROUND_CEILING") * step
    return v


def _fmt(v: Decimal) -> str:
    return f"{v:.2f}" if v != v.to_integral_value() else f"{int(v)}"


def _value_axes(x0: int, x1: int, ymax: Decimal, unit: str):
    """The frame of a dated-value chart: (X, Y, body) with both axes, five grid lines labelled with
    values, the unit and a tick per 1 January between the day numbers x0 and x1."""
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def X(d: date) -> float:
        return PAD_L + (_days(d) - x0) / (x1 - x0) * iw

    def Y(v: Decimal) -> float:
        return PAD_T + ih - float(v / ymax) * ih

    body = [f'<line x1="{PAD_L}" y1="{PAD_T + ih}" x2="{PAD_L + iw}" y2="{PAD_T + ih}" stroke="{INK}"/>',
            f'<line x1="{PAD_L}" y1="{PAD_T}" x2="{PAD_L}" y2="{PAD_T + ih}" stroke="{INK}"/>']
    for i in range(0, 5):
        v = ymax * i / 4
        y = Y(v)
        body.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{PAD_L + iw}" y2="{y:.1f}" stroke="{GRID}" stroke-dasharray="2,3"/>')
        body.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{_fmt(v)}</text>')
    if unit:
        body.append(f'<text x="{PAD_L - 6}" y="{PAD_T - 6}" text-anchor="end" fill="{INK}">{escape(unit)}</text>')
    for year in range(date.fromordinal(x0).year + 1, date.fromordinal(x1).year + 1):
        x = X(date(year, 1, 1))
        body.append(f'<line x1="{x:.1f}" y1="{PAD_T + ih}" x2="{x:.1f}" y2="{PAD_T + ih + 5}" stroke="{INK}"/>')
        body.append(f'<text x="{x:.1f}" y="{PAD_T + ih + 18}" text-anchor="middle" fill="{INK}">{year}</text>')
    return X, Y, body


def step_chart(title: str, points: list[tuple[date, Decimal | None]], end: date, unit: str = "") -> str:
    """A staircase of dated values; a None value (gap, abolition) interrupts the line."""
    known = [v for _, v in points if v is not None]
    if not points or not known:
        return ""
    start = points[0][0]
    x0, x1 = _days(start) - 60, max(_days(end), _days(points[-1][0]) + 120)
    ymax = _nice_max(max(known))
    X, Y, body = _value_axes(x0, x1, ymax, unit)
    for i, (d, v) in enumerate(points):
        if v is None:
            continue
        nxt = points[i + 1][0] if i + 1 < len(points) else date.fromordinal(x1)
        y = Y(v)
        body.append(f'<line x1="{X(d):.1f}" y1="{y:.1f}" x2="{X(nxt):.1f}" y2="{y:.1f}" stroke="{ACCENT}" stroke-width="3"/>')
        body.append(f'<circle cx="{X(d):.1f}" cy="{y:.1f}" r="4" fill="{ACCENT}"><title>{d.isoformat()} : {_fmt(v)}</title></circle>')
        body.append(f'<text x="{X(d) + 4:.1f}" y="{y - 8:.1f}" fill="{INK}">{_fmt(v)}</text>')
        if i + 1 < len(points) and points[i + 1][1] is not None:
            body.append(f'<line x1="{X(nxt):.1f}" y1="{y:.1f}" x2="{X(nxt):.1f}" y2="{Y(points[i + 1][1]):.1f}" '
                        f'stroke="{ACCENT}" stroke-width="1.5" stroke-dasharray="3,2"/>')
    return _svg(title, body)


def bar_chart(title: str, bars: list[tuple[str, Decimal]], unit: str = "") -> str:
    """Horizontal bars, one per labelled value (e.g. a forfait's socle by patient category)."""
    if not bars:
        return ""
    row = 26
    height = PAD_T + row * len(bars) + 30
    label_w = 260
    iw = W - label_w - PAD_R - 60
    vmax = _nice_max(max(v for _, v in bars))
    body = []
    for i, (label, v) in enumerate(bars):
        y = PAD_T + i * row
        w = float(v / vmax) * iw if vmax else 0
        body.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" fill="{INK}">{escape(label[:40])}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{ACCENT}">'
                    f'<title>{escape(label)} : {_fmt(v)} {escape(unit)}</title></rect>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="{INK}">{_fmt(v)} {escape(unit)}</text>')
    return _svg(title, body, height=height)


def timeline(title: str, milestones: list[tuple[date, str]], counts: dict[date, int]) -> str:
    """Milestones on a time axis; bars show how many values start on each date."""
    dates = sorted(set(d for d, _ in milestones) | set(counts))
    if not dates:
        return ""
    height = 300
    x0, x1 = _days(dates[0]) - 90, _days(dates[-1]) + 90
    iw = W - PAD_L - PAD_R
    axis_y = 200
    cmax = max(counts.values(), default=1) or 1

    def X(d: date) -> float:
        return PAD_L + (_days(d) - x0) / (x1 - x0) * iw

    body = [f'<line x1="{PAD_L}" y1="{axis_y}" x2="{PAD_L + iw}" y2="{axis_y}" stroke="{INK}" stroke-width="2"/>']
    for year in range(date.fromordinal(x0).year + 1, date.fromordinal(x1).year + 1):
        x = X(date(year, 1, 1))
        body.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 6}" stroke="{INK}"/>')
        body.append(f'<text x="{x:.1f}" y="{axis_y + 20}" text-anchor="middle" fill="{INK}">{year}</text>')
    for d, n in sorted(counts.items()):
        h = 150 * n / cmax
        body.append(f'<rect x="{X(d) - 4:.1f}" y="{axis_y - h:.1f}" width="8" height="{h:.1f}" fill="{ACCENT}" opacity="0.8">'
                    f'<title>{d.isoformat()} : {n} valeur(s) commencent</title></rect>')
    for i, (d, label) in enumerate(sorted(milestones)):
        x = X(d)
        body.append(f'<circle cx="{x:.1f}" cy="{axis_y}" r="5" fill="#e53935"><title>{d.isoformat()} — {escape(label)}</title></circle>')
        body.append(f'<text x="{x:.1f}" y="{axis_y + 36 + 14 * (i % 4)}" text-anchor="middle" fill="{INK}" font-size="10">'
                    f'{d.strftime("%d/%m/%Y")}</text>')
    return _svg(title, body, height=height)


PALETTE = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#3949ab", "#c0ca33", "#d81b60"]


def multi_step_chart(title: str, series: list[tuple[str, list[tuple[date, Decimal | None]]]], end: date,
                     unit: str = "") -> str:
    """Several staircases on one time axis (e.g. the revaluations of a family of codes), with a legend."""
    series = [(name, pts) for name, pts in series if any(v is not None for _, v in pts)][:len(PALETTE)]
    if not series:
        return ""
    starts = [pts[0][0] for _, pts in series]
    x0 = _days(min(starts)) - 60
    x1 = max(_days(end), max(_days(pts[-1][0]) for _, pts in series) + 120)
    ymax = _nice_max(max(v for _, pts in series for _, v in pts if v is not None))
    legend_rows = (len(series) + 4) // 5
    height = H + 18 * legend_rows
    iw = W - PAD_L - PAD_R
    X, Y, body = _value_axes(x0, x1, ymax, unit)
    for k, (name, pts) in enumerate(series):
        color = PALETTE[k]
        for i, (d, v) in enumerate(pts):
            if v is None:
                continue
            nxt = pts[i + 1][0] if i + 1 < len(pts) else date.fromordinal(x1)
            body.append(f'<line x1="{X(d):.1f}" y1="{Y(v):.1f}" x2="{X(nxt):.1f}" y2="{Y(v):.1f}" stroke="{color}" '
                        f'stroke-width="2.5"><title>{escape(name)} : {_fmt(v)} à partir du {d.isoformat()}</title></line>')
            body.append(f'<circle cx="{X(d):.1f}" cy="{Y(v):.1f}" r="3" fill="{color}"/>')
        lx = PAD_L + (k % 5) * (iw / 5)
        ly = H + 18 * (k // 5)
        body.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="4" fill="{color}"/>')
        body.append(f'<text x="{lx + 16:.1f}" y="{ly - 4}" fill="{INK}">{escape(name[:18])}</text>')
    return _svg(title, body, height=height)
