"""The two charts of the 汇报测评 report, drawn straight into the PDF with fpdf2.

Bars are filled rectangles and the labels are text in the document's embedded font, so the
charts stay vectors, their words are in the text layer (searchable, checked like the rest),
a name in CJK Extension B takes the fallback font like any other line, and drawing them
costs a few milliseconds. (matplotlib's SVG, embedded before, cost 2–4 s per report: fpdf2
deep-copies every glyph path of it.) The web pages keep matplotlib's charts (charts.py);
both take their colours and labels from palette.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from survey.domain.roles import SubjectRole
from survey.reports import palette
from survey.reports.figures import (
    NO_VALID_VOTES,
    option_labels,
    points_text,
    rate_fraction,
    rate_percent,
    scored_rows,
    table_of,
)

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.reports.pdf import ResultDocument
    from survey.services.results import SessionResults

ROW = 5.2  # mm per subject when the chart fits on one page
ROW_MIN = 3.6  # below this the labels would touch: the chart goes on over more pages
TITLE = 6.0
LEGEND = 5.5
AXIS = 10.0
LABEL_SIZE = 7.0
NUMBER_SIZE = 6.5
AXIS_COLOUR = "#555555"
GRID_COLOUR = "#d5d8dc"
RED = "#922b21"


@dataclass(frozen=True)
class Frame:
    """Where one page of a chart goes: the plot area and the height of a row."""

    top: float
    left: float
    right: float
    row: float


def _nice_step(total: int, ticks: int = 8) -> int:
    """The tick step of a count axis: 1, 2 or 5 times a power of ten, at most `ticks` ticks."""
    raw = max(total / ticks, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def _chunks(pdf: ResultDocument, count: int) -> tuple[float, int]:
    """Return the row height and how many rows go on a page, so a chart fits the page."""
    usable = pdf.h - pdf.t_margin - 22.0 - 14.0 - TITLE - LEGEND - AXIS
    if count * ROW <= usable:
        return ROW, max(count, 1)
    height = max(usable / count, ROW_MIN)
    return height, max(int(usable // height), 1)


def _place(pdf: ResultDocument, heading: str, rows: int, row: float, label_width: float,
           right_width: float, first: bool) -> Frame:  # fmt: skip
    """Start a page of the chart (a new page if it does not fit) and return its frame."""
    height = TITLE + LEGEND + rows * row + AXIS
    if pdf.will_page_break(height + 14.0):
        pdf.add_page()
    pdf.heading(heading if first else f"{heading}（续）")
    top = pdf.get_y()
    left = pdf.l_margin + label_width + 1.5
    return Frame(top=top, left=left, right=pdf.l_margin + pdf.epw - right_width, row=row)


def _text(pdf: ResultDocument, x: float, y: float, w: float, text: str, size: float,
          align: str = "L", colour: str = "#000000") -> None:  # fmt: skip
    """Print one line of text centred vertically on y, in the cell from x to x + w."""
    pdf.set_font(pdf.family, size=size)
    pdf.set_text_color(colour)
    pdf.set_xy(x, y - size * 0.22)
    pdf.cell(w=w, h=size * 0.44, text=text, align=align)


def _title_and_legend(pdf: ResultDocument, frame: Frame, title: str, entries) -> float:
    """Print the chart's title and one line of legend entries; return the y below them."""
    _text(pdf, pdf.l_margin, frame.top + TITLE / 2, pdf.epw, title, 9.5, "C")
    pdf.set_font(pdf.family, size=LABEL_SIZE)
    widths = [6.5 + pdf.get_string_width(label) + 4 for label, _, _ in entries]
    x = pdf.l_margin + (pdf.epw - sum(widths)) / 2
    y = frame.top + TITLE + LEGEND / 2
    for (label, colour, kind), width in zip(entries, widths, strict=True):
        if kind == "box":
            pdf.set_fill_color(colour)
            pdf.rect(x, y - 1.4, 5, 2.8, style="F")
        else:
            _line(pdf, x, y, x + 5, y, colour, dashed=kind == "dashed")
        _text(pdf, x + 6, y, width - 6, label, LABEL_SIZE)
        x += width
    return frame.top + TITLE + LEGEND


def _line(pdf, x1, y1, x2, y2, colour: str, width: float = 0.35, dashed: bool = False) -> None:
    pdf.set_draw_color(colour)
    pdf.set_line_width(width)
    if dashed:
        pdf.set_dash_pattern(dash=1.2, gap=0.8)
    pdf.line(x1, y1, x2, y2)
    if dashed:
        pdf.set_dash_pattern()


def _labels(pdf: ResultDocument, frame: Frame, rows, plot_top: float, width: float) -> None:
    for index, row in enumerate(rows):
        centre = plot_top + (index + 0.5) * frame.row
        _text(pdf, pdf.l_margin, centre, width, palette.row_label(row), LABEL_SIZE, "R")


def _axis(pdf: ResultDocument, frame: Frame, bottom: float, ticks, label: str) -> None:
    """The x axis under the plot: the line, ticks with their labels, and the axis label."""
    _line(pdf, frame.left, bottom, frame.right, bottom, AXIS_COLOUR, 0.25)
    for x, text, major in ticks:
        _line(pdf, x, bottom, x, bottom + (1.2 if major else 0.7), AXIS_COLOUR, 0.25)
        if text:
            _text(pdf, x - 8, bottom + 2.8, 16, text, NUMBER_SIZE, "C", AXIS_COLOUR)
    _text(pdf, frame.left, bottom + 6.8, frame.right - frame.left, label, 8, "C")


def _finish(pdf: ResultDocument, bottom: float, saved) -> None:
    """Below the chart, with the colours and line width the rest of the document uses."""
    fill, draw, width = saved
    pdf.set_text_color(0, 0, 0)
    pdf.set_fill_color(fill)
    pdf.set_draw_color(draw)
    pdf.set_line_width(width)
    pdf.set_xy(pdf.l_margin, bottom + AXIS + 2)


def _saved(pdf: ResultDocument):
    # Tables fill their cells with the document's fill colour: a bar's must not stay set.
    return pdf.fill_color, pdf.draw_color, pdf.line_width


def _label_width(pdf: ResultDocument, rows) -> float:
    pdf.set_font(pdf.family, size=LABEL_SIZE)
    widest = max((pdf.get_string_width(palette.row_label(row)) for row in rows), default=10.0)
    return min(widest + 2.5, pdf.epw * 0.32)


def distribution(pdf: ResultDocument, results: SessionResults, heading: str) -> None:
    """Stacked bars: each subject's votes per option and abstentions, counts on the bars."""
    rows = scored_rows(results)
    if not rows:
        pdf.heading(heading)
        pdf.paragraph("本测评表按分值计分，没有单项评价分布。")
        return
    options = option_labels(results)
    series = [
        *((key, label, colour) for (key, label), colour in
          zip(options, palette.option_colours(results), strict=True)),
        (None, palette.ABSTAIN_LABEL, palette.ABSTAIN_COLOUR),
    ]  # fmt: skip
    total = max((row.counts.valid + row.counts.abstain for row in rows), default=0) or 1
    step = _nice_step(total)
    title = f"各测评对象评价分布（{palette.item_label(results, rows)}）"
    legend = [(label, colour, "box") for _, label, colour in series]
    label_width = _label_width(pdf, rows)
    height, per_page = _chunks(pdf, len(rows))
    saved = _saved(pdf)
    for start in range(0, len(rows), per_page):
        page = rows[start : start + per_page]
        frame = _place(pdf, heading, len(page), height, label_width, 2.0, start == 0)
        top = _title_and_legend(pdf, frame, title, legend)
        scale = (frame.right - frame.left) / total
        bottom = top + len(page) * frame.row
        for count in range(step, total + 1, step):
            x = frame.left + count * scale
            _line(pdf, x, top, x, bottom, GRID_COLOUR, 0.15)
        _labels(pdf, frame, page, top, label_width)
        bar = frame.row * 0.7
        for index, row in enumerate(page):
            centre = top + (index + 0.5) * frame.row
            x = frame.left
            for key, _, colour in series:
                value = row.counts.abstain if key is None else row.counts.options[key]
                if not value:
                    continue
                width = value * scale
                pdf.set_fill_color(colour)
                pdf.rect(x, centre - bar / 2, width, bar, style="F")
                pdf.set_font(pdf.family, size=NUMBER_SIZE)
                text = str(value)
                # Only where the segment is wide enough to hold its number.
                if pdf.get_string_width(text) + 0.8 <= width:
                    ink = "#ffffff" if colour in palette.DARK_COLOURS else "#000000"
                    _text(pdf, x, centre, width, text, NUMBER_SIZE, "C", ink)
                x += width
        ticks = [(frame.left + n * scale, str(n), True) for n in range(0, total + 1, step)]
        _axis(pdf, frame, bottom, ticks, "票数")
        _finish(pdf, bottom, saved)


def rates(pdf: ResultDocument, results: SessionResults, heading: str) -> None:
    """Each subject's rate as a bar against the band lines of its own table, the rate (with
    its fraction) and points printed at the right."""
    rows = scored_rows(results)
    label = results.questionnaire.rate_label
    if not rows:
        pdf.heading(heading)
        pdf.paragraph(f"本测评表按分值计分，不计{label}。")
        return
    texts = []
    for row in rows:
        if row.rate is None:
            texts.append(NO_VALID_VOTES)
            continue
        points = points_text(row)
        rate = f"{rate_percent(row)}（{rate_fraction(row)}）"
        texts.append(f"{rate} {points}" if points else rate)
    pdf.set_font(pdf.family, size=LABEL_SIZE)
    right_width = min(max(pdf.get_string_width(text) for text in texts) + 3, pdf.epw * 0.3)
    roles = {row.spec.role == SubjectRole.TEAM for row in rows}
    legend = [
        entry
        for entry, team in (
            ((palette.TEAM_LINE_LABEL, palette.TEAM_LINE_COLOUR, "solid"), True),
            ((palette.MEMBER_LINE_LABEL, palette.MEMBER_LINE_COLOUR, "dashed"), False),
        )
        if team in roles
    ]
    label_width = _label_width(pdf, rows)
    height, per_page = _chunks(pdf, len(rows))
    saved = _saved(pdf)
    for start in range(0, len(rows), per_page):
        page = rows[start : start + per_page]
        page_texts = texts[start : start + per_page]
        frame = _place(pdf, heading, len(page), height, label_width, right_width, start == 0)
        top = _title_and_legend(pdf, frame, f"{label}与分档线", legend)
        scale = (frame.right - frame.left) / 100
        bottom = top + len(page) * frame.row
        for percent in range(10, 101, 10):
            x = frame.left + percent * scale
            _line(pdf, x, top, x, bottom, GRID_COLOUR, 0.15)
        _labels(pdf, frame, page, top, label_width)
        for index, (row, text) in enumerate(zip(page, page_texts, strict=True)):
            centre = top + (index + 0.5) * frame.row
            if row.rate is not None and row.rate > 0:
                pdf.set_fill_color(palette.BAR_COLOUR)
                bar = frame.row * 0.6
                pdf.rect(frame.left, centre - bar / 2, float(row.rate) * 100 * scale, bar, "F")
            table = table_of(results, row)
            team = row.spec.role == SubjectRole.TEAM
            for band in table.bands if table is not None else ():
                if band.low > 0:
                    x = frame.left + float(band.low * 100) * scale
                    reach = frame.row * 0.42
                    colour = palette.TEAM_LINE_COLOUR if team else palette.MEMBER_LINE_COLOUR
                    _line(pdf, x, centre - reach, x, centre + reach, colour, 0.35, not team)
            ink = RED if text == NO_VALID_VOTES else "#000000"
            _text(pdf, frame.right + 1.5, centre, right_width - 1.5, text, LABEL_SIZE, "L", ink)
        ticks = [
            (frame.left + p * scale, f"{p}%" if p % 10 == 0 else "", p % 10 == 0)
            for p in range(0, 101, 5)
        ]
        _axis(pdf, frame, bottom, ticks, label)
        _finish(pdf, bottom, saved)
