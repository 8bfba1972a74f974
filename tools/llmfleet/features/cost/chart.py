"""The chart of ``llmfleet cost --plot``: self-hosted cost per day against requests per day,
beside the hosted API.

* Both axes are logarithmic: 1,000 and 1,000,000 requests/day are equally readable, and
  the API's cost (proportional to the volume) is a straight line.
* One line per overlay, a distinct colour AND line style each (so it stays apart from an
  identical line in grey print): its cost as the autoscaler adds replicas, min replicas
  first, a step per replica at the volume one replica serves at its target, up to its
  capacity at max replicas (marked with a bar); a flat line at min replicas when the
  capacity is unknown.
* Break-even points (reachable ones: where self-hosting becomes cheaper) are marked and
  labelled; each label is placed where it overlaps no other label, marker or line.
* The legend sits below the plot, outside the axes, so it never hides a line; it says each
  overlay's replicas, capacity and break-even (or why there is none).
* Fonts of at least :data:`MIN_FONT_PT` points at :data:`DPI`: readable when the image is
  shown at half size (tests/test_cost_chart.py checks these properties on the figure).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from llmfleet.infra.errors import UsageError

if TYPE_CHECKING:
    from llmfleet.features.cost.estimate import ApiPricing, OverlayCost

DPI = 150
FIGSIZE = (11.0, 6.5)
#: At DPI 150, 10 pt is 21 px: 10 px when the image is shown at half size.
MIN_FONT_PT = 10
LINE_WIDTH = 2.2
LINESTYLES: list[Any] = [
    "-",
    (0, (6, 2)),
    (0, (6, 2, 1.5, 2)),
    (0, (1.5, 1.5)),
    (0, (10, 3, 2, 3, 2, 3)),
    (0, (3, 1)),
    (0, (12, 2, 2, 2)),
    (0, (4, 2, 1, 2, 1, 2, 1, 2)),
]
#: Offsets (points) tried for a break-even label, nearest first.
LABEL_OFFSETS = [
    (int(r * fx), int(r * fy))
    for r in (14, 30, 55, 90, 140, 200)
    for fx, fy in (
        (1, -1),
        (1, 1),
        (-1, 1),
        (-1, -1),
        (1, -2),
        (2, -1),
        (-1, 2),
        (-2, 1),
        (0, 1.2),
        (0, -1.2),
        (1.4, 0),
        (-1.4, 0),
    )
]


def overlay_styles(count: int) -> list[tuple[Any, Any]]:
    """(colour, line style) per overlay: both distinct across the overlays."""
    from matplotlib import colormaps

    palette: list[Any] = list(getattr(colormaps["tab10"], "colors", ()))
    if count > len(palette):
        palette += [colormaps["hsv"](i / count) for i in range(count - len(palette))]
    styles = list(LINESTYLES)
    while len(styles) < count:
        n = len(styles)
        styles.append((0, (2 + n % 7, 1 + n // 7, 1, 1 + n % 3)))
    return [(palette[i], styles[i]) for i in range(count)]


def _number(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _money(value: float) -> str:
    return (
        "\\$" + _number(value)
        if value >= 1000
        else "\\$" + (f"{value:,.2f}" if value < 100 else f"{value:,.0f}")
    )


#: Line styles of the hosted-API lines when overlays of several size classes are drawn.
API_STYLES = ("-", "--", ":", "-.")


def _steps(
    c: OverlayCost, api: ApiPricing, x_lo: float, x_hi: float
) -> tuple[list[float], list[float], bool]:
    """Vertices of the overlay's cost line; True when it ends at the capacity."""
    cap = c.capacity(api)
    if cap is None or cap.per_replica_per_day <= 0:
        return [x_lo, x_hi], [c.per_day_min, c.per_day_min], False
    unit = cap.per_replica_per_day
    xs, ys = [x_lo], [c.per_day_at(c.min_replicas)]
    for k in range(c.min_replicas + 1, c.max_replicas + 1):
        edge = (k - 1) * unit
        if edge <= x_lo:
            ys[-1] = c.per_day_at(k)
            continue
        xs += [edge, edge]
        ys += [ys[-1], c.per_day_at(k)]
    end = max(cap.at_max_per_day, x_lo * 1.01)
    xs.append(end)
    ys.append(ys[-1])
    return xs, ys, True


def _legend_label(c: OverlayCost, api: ApiPricing) -> str:
    v = c.verdict(api)
    cap = v["capacity"]
    text = (
        f"{c.name}: {c.gpus_per_pod} x {c.gpu.name}, {c.min_replicas}-{c.max_replicas} replicas, "
        f"{_money(c.per_day_min)}/day at min"
    )
    if cap is None:
        return text + "; capacity unknown"
    text += f"; capacity {_number(cap.at_max_per_day)} req/day"
    status = v["status"]
    if status == "reachable":
        return text + f"; break-even {_number(v['break_even'])} req/day"
    if status == "not-reachable":
        return text + (
            f"; break-even not reachable at max replicas (needs {v['replicas_for_break_even']}; "
            "API cheaper at every volume)"
        )
    if status == "api-cheaper":
        return text + "; no break-even (API cheaper at every volume)"
    return text


def build(costs: list[OverlayCost], api: ApiPricing, requests_per_day: float) -> Any:
    """The chart as a matplotlib Figure (no pyplot state; close() frees it)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib: pip install matplotlib==3.11.2 (requirements-dev.txt)"
        ) from None
    verdicts = [c.verdict(api) for c in costs]
    points = [requests_per_day] + [v["break_even"] for v in verdicts if v["break_even"]]
    points += [v["capacity"].at_max_per_day for v in verdicts if v["capacity"] is not None]
    points = [p for p in points if p and p > 0] or [1000.0]
    x_lo = 10 ** math.floor(math.log10(min(points) / 3))
    x_hi = 10 ** math.ceil(math.log10(max(points) * 3))
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    # One line per hosted-API price the overlays are compared with (one per size class).
    apis = list(dict.fromkeys(c.api_for(api) for c in costs)) or [api]
    y_values: list[float] = []
    for index, own in enumerate(apis):
        ax.plot(
            [x_lo, x_hi],
            [own.per_day(x_lo), own.per_day(x_hi)],
            color="black",
            linewidth=2.6,
            linestyle=API_STYLES[index % len(API_STYLES)],
            label=(
                f"hosted API{f' ({own.size_class})' if own.size_class else ''}: "
                f"{_money(own.per_request * 1000)} per 1k requests "
                f"({own.input_tokens} in + {own.output_tokens} out tokens)"
            ),
            gid="api" if len(apis) == 1 else f"api:{index}",
        )
        y_values += [own.per_day(x_lo), own.per_day(x_hi)]
    styles = overlay_styles(len(costs))
    drawn = [_steps(c, api, x_lo, x_hi) for c in costs]
    for index, (c, (colour, style), (xs, ys, capped)) in enumerate(zip(costs, styles, drawn)):
        y_values += ys
        # Overlays that cost the same (within 3 %, a pixel on this scale) lie on one line: each
        # earlier one is drawn wider, a halo around the later ones, so no line hides another.
        same = sum(1 for later in drawn[index + 1 :] if math.isclose(later[1][0], ys[0], rel_tol=0.03))
        ax.plot(
            xs,
            ys,
            color=colour,
            linestyle=style,
            linewidth=LINE_WIDTH + 2.5 * same,
            label=_legend_label(c, api),
            gid=f"overlay:{c.name}",
            zorder=2 + index,
        )
        if capped:
            ax.plot(
                [xs[-1]],
                [ys[-1]],
                marker="|",
                markersize=16,
                markeredgewidth=2.4,
                color=colour,
                linestyle="none",
                gid=f"capacity:{c.name}",
                zorder=2 + index,
            )
    marks: list[tuple[float, float, Any, str]] = []
    points_by_place: dict[tuple[float, float], list[tuple[OverlayCost, Any]]] = {}
    for c, v, (colour, _) in zip(costs, verdicts, styles):
        if v["status"] == "reachable":
            key = (round(v["break_even"], 6), round(c.per_day_min, 6))
            points_by_place.setdefault(key, []).append((c, colour))
    for (x, y), group in points_by_place.items():
        names = ", ".join(c.name for c, _ in group)
        marks.append((x, y, group[0][1], f"break-even {_number(x)} req/day\n{names}"))
    ax.axvline(
        requests_per_day,
        color="0.35",
        linestyle=(0, (1, 2)),
        linewidth=1.8,
        label=f"{_number(requests_per_day)} requests/day (--requests-per-day)",
        gid="requests",
    )
    low, high = min(y for y in y_values if y > 0), max(y_values)
    ax.set_ylim(10 ** math.floor(math.log10(low)), 10 ** math.ceil(math.log10(high)))
    ax.set_xlim(x_lo, x_hi)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _number(v)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _money(v)))
    ax.tick_params(labelsize=11)
    ax.set_xlabel("requests per day (log scale)", fontsize=12)
    ax.set_ylabel("USD per day (log scale)", fontsize=12)
    ax.set_title("Self-hosted (replicas added as load grows, up to max) vs hosted API", fontsize=13)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    marker_lines = []
    for x, y, colour, _ in marks:
        marker_lines += ax.plot(
            [x],
            [y],
            marker="o",
            markersize=9,
            color=colour,
            markeredgecolor="black",
            linestyle="none",
            gid="break-even",
        )
    fig.legend(
        loc="upper left", bbox_to_anchor=(0.06, 0.0), fontsize=MIN_FONT_PT, frameon=True, borderaxespad=0.0
    )
    fig.subplots_adjust(left=0.09, right=0.97, top=0.92, bottom=0.12)
    _place_labels(fig, ax, marks, marker_lines)
    return fig


def _place_labels(fig: Any, ax: Any, marks: list[tuple[float, float, Any, str]], markers: list[Any]) -> None:
    """Put each break-even label where it overlaps no other label, marker or line."""
    from matplotlib.transforms import Bbox

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    lines = [line for line in ax.get_lines() if line.get_gid() != "break-even"]
    paths = [line.get_transform().transform_path(line.get_path()) for line in lines]
    taken: list[Any] = []
    for line in markers:
        x, y = line.get_transform().transform(line.get_xydata()[0])
        taken.append(Bbox.from_extents(x - 8, y - 8, x + 8, y + 8))
    for x, y, colour, text in marks:
        best = None
        for dx, dy in LABEL_OFFSETS:
            note = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=MIN_FONT_PT,
                color="black",
                ha="left" if dx >= 0 else "right",
                va="bottom" if dy >= 0 else "top",
                gid="break-even-label",
                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 1.2},
                arrowprops={"arrowstyle": "-", "color": colour, "lw": 1.2},
            )
            box = label_box(note, renderer)
            conflicts = sum(box.overlaps(b) for b in taken) + sum(
                p.intersects_bbox(box, filled=False) for p in paths
            )
            inside = area.contains(box.x0, box.y0) and area.contains(box.x1, box.y1)
            score = conflicts + (0 if inside else 100)
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, note, box)
            else:
                note.remove()
            if score == 0:
                break
        if best is not None:
            taken.append(best[2])


def label_box(note: Any, renderer: Any) -> Any:
    """The label's text with its frame, in display pixels (an annotation's own window extent
    also covers its leader line, which may cross lines)."""
    from matplotlib.text import Text

    note.update_positions(renderer)
    pad = 0.25 * note.get_fontsize() * renderer.points_to_pixels(1.0) + 2
    return Text.get_window_extent(note, renderer).padded(pad)


def close(fig: Any) -> None:
    fig.clear()
