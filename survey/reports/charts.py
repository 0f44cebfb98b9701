"""Charts of a session's results as self-contained SVG (text drawn as paths, no font needed).

Figures are built with matplotlib's object API on an Agg canvas: no pyplot, so no GUI backend
and no global registry of open figures to leak in a long-running server. The CJK font and the
rcParams are set once per process and never changed afterwards, so threads may share them.
These are the web pages' charts; the PDFs draw their own (survey/reports/vector_charts.py).
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from survey.domain.roles import SubjectRole
from survey.reports import palette
from survey.reports.figures import (
    NO_VALID_VOTES,
    option_labels,
    points_text,
    rate_percent,
    scored_rows,
    table_of,
)
from survey.reports.fonts import (
    CJK_MATPLOTLIB_NAME,
    FALLBACK_FONTS,
    FALLBACK_MATPLOTLIB_NAMES,
    cjk_font_path,
)

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

WIDTH_IN = 7.2
ROW_IN = 0.3

_setup_lock = threading.Lock()
_ready = False


def _setup() -> None:
    """Register the Noto CJK font with matplotlib and set the rcParams, once per process."""
    global _ready
    with _setup_lock:
        if _ready:
            return
        font_manager.fontManager.addfont(str(cjk_font_path()))
        fallbacks = []
        for (_, path), name in zip(FALLBACK_FONTS, FALLBACK_MATPLOTLIB_NAMES, strict=True):
            if path.exists():
                # Extensions B–F (𠀀, 𬍤): matplotlib falls back glyph by glyph along the list.
                font_manager.fontManager.addfont(str(path))
                fallbacks.append(name)
        matplotlib.rcParams.update(
            {
                # Named families, not the generic "sans-serif": matplotlib falls back glyph by
                # glyph only along a list of named families.
                "font.family": [CJK_MATPLOTLIB_NAME, *fallbacks, "DejaVu Sans"],
                "font.sans-serif": [CJK_MATPLOTLIB_NAME, *fallbacks, "DejaVu Sans"],
                # Glyphs as paths: the SVG needs no font on the machine that opens it.
                "svg.fonttype": "path",
                # Fixed ids instead of random ones: the same results give the same bytes.
                "svg.hashsalt": "survey-report",
            }
        )
        _ready = True


def _new_figure(rows: int) -> Figure:
    _setup()
    figure = Figure(figsize=(WIDTH_IN, 1.6 + ROW_IN * max(rows, 1)), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # No metadata block: it carries a date (so bytes would differ) and fpdf2 ignores it noisily.
    figure.savefig(
        buffer,
        format="svg",
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    return buffer.getvalue()


def _empty(figure: Figure, message: str) -> Figure:
    axes = figure.subplots()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555555")
    return figure


def distribution_chart(results: SessionResults) -> str:
    """Return an SVG of stacked bars: each subject's votes per option and abstentions."""
    return _svg(distribution_figure(results))


def rates_chart(results: SessionResults) -> str:
    """Return an SVG of each subject's 较好以上率 against the band lines of its own table."""
    return _svg(rates_figure(results))


def png(figure: Figure, dpi: int = 200) -> bytes:
    """Return a figure as PNG (for pages that want a bitmap; the PDFs take the SVG)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def distribution_figure(results: SessionResults) -> Figure:
    """Draw each subject's votes per option and abstentions as stacked bars."""
    return _subject_bars(results, "本测评表按分值计分，没有单项评价分布", _distribution)


def rates_figure(results: SessionResults) -> Figure:
    """Draw each subject's 较好以上率 as a bar against the band lines of its own table."""
    return _subject_bars(results, "本测评表按分值计分，不计较好以上率", _rates)


def _subject_bars(results: SessionResults, when_none: str, draw) -> Figure:
    """A figure of one bar a subject scored by rate, drawn by `draw(figure, axes, results,
    rows)`; the message `when_none` when the questionnaire scores none that way."""
    rows = scored_rows(results)
    figure = _new_figure(len(rows))
    if not rows:
        return _empty(figure, when_none)
    return draw(figure, figure.subplots(), results, rows)


def _distribution(figure: Figure, axes, results: SessionResults, rows) -> Figure:
    positions = list(range(len(rows)))
    left = [0] * len(rows)
    series = [
        *zip(option_labels(results), palette.option_colours(results), strict=True),
        ((None, palette.ABSTAIN_LABEL), palette.ABSTAIN_COLOUR),
    ]
    total = max((row.counts.valid + row.counts.abstain for row in rows), default=0) or 1
    for (key, label), colour in series:
        values = [row.counts.abstain if key is None else row.counts.options[key] for row in rows]
        axes.barh(positions, values, left=left, color=colour, label=label, height=0.7)
        for y, (start, value) in enumerate(zip(left, values, strict=True)):
            # Only where the segment is wide enough to hold its number.
            if value and value / total >= 0.04:
                axes.text(
                    start + value / 2,
                    y,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if colour in palette.DARK_COLOURS else "black",
                )
        left = [a + b for a, b in zip(left, values, strict=True)]
    _subjects_down(axes, rows)
    axes.set_xlim(0, total)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("票数", fontsize=9)
    title = f"各测评对象评价分布（{palette.item_label(results, rows)}）"
    return _finished(figure, axes, title, len(series))


def _rates(figure: Figure, axes, results: SessionResults, rows) -> Figure:
    # Floats only place the bars; every printed figure comes from the exact Fraction.
    for y, row in enumerate(rows):
        team = row.spec.role == SubjectRole.TEAM
        if row.rate is not None:
            axes.barh(y, float(row.rate * 100), height=0.6, color=palette.BAR_COLOUR)
        table = table_of(results, row)
        if table is not None:
            for band in table.bands:
                if band.low > 0:
                    axes.plot(
                        [float(band.low * 100)] * 2,
                        [y - 0.42, y + 0.42],
                        color=palette.TEAM_LINE_COLOUR if team else palette.MEMBER_LINE_COLOUR,
                        linewidth=1.2,
                        linestyle="-" if team else "--",
                    )
    at_right = blended_transform_factory(axes.transAxes, axes.transData)
    for y, row in enumerate(rows):
        text = rate_percent(row)
        if row.rate is not None and points_text(row):
            text = f"{text}  {points_text(row)}"
        axes.text(
            1.01,
            y,
            text,
            transform=at_right,
            ha="left",
            va="center",
            fontsize=8,
            color="#000000" if text != NO_VALID_VOTES else "#922b21",
        )
    _subjects_down(axes, rows)
    axes.set_xlim(0, 100)
    axes.set_ylim(len(rows) - 0.5, -0.5)
    # Thresholds 5 points apart would print on top of each other: the lines show them.
    axes.set_xticks(range(0, 101, 10), [f"{t}%" for t in range(0, 101, 10)], fontsize=7)
    axes.set_xticks(range(0, 101, 5), minor=True)
    label = results.questionnaire.rate_label
    axes.set_xlabel(label, fontsize=9)
    roles = {row.spec.role == SubjectRole.TEAM for row in rows}
    handles = [
        Line2D(
            [], [], color=palette.TEAM_LINE_COLOUR, linewidth=1.2, label=palette.TEAM_LINE_LABEL
        ),
        Line2D(
            [],
            [],
            color=palette.MEMBER_LINE_COLOUR,
            linewidth=1.2,
            linestyle="--",
            label=palette.MEMBER_LINE_LABEL,
        ),
    ]
    handles = [handle for handle, team in zip(handles, (True, False), strict=True) if team in roles]
    return _finished(figure, axes, f"{label}与分档线", len(handles), handles)


def _subjects_down(axes, rows) -> None:
    """One bar a subject, named on the left, the first at the top."""
    axes.set_yticks(range(len(rows)), [palette.row_label(row) for row in rows], fontsize=8)
    axes.invert_yaxis()


def _finished(figure: Figure, axes, title: str, columns: int, handles=None) -> Figure:
    """Title the figure, set the legend in one row above the plot, open the top and right."""
    figure.suptitle(title, fontsize=11)
    axes.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=columns,
        fontsize=8,
        frameon=False,
    )
    axes.spines[["top", "right"]].set_visible(False)
    return figure
