"""What the charts of the web pages (matplotlib) and of the PDFs (drawn by fpdf2) share:
colours, legend words and row labels, so the two kinds of chart read the same."""

from __future__ import annotations

from typing import TYPE_CHECKING

from survey.reports.figures import option_labels

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

ABSTAIN_LABEL = "弃权"
GOOD_COLOURS = ("#1e8449", "#52be80", "#a9dfbf", "#d5f5e3")
# The worst option is always red; milder ones take the colours before it.
BAD_COLOURS = ("#f7dc6f", "#f5b041", "#e67e22", "#c0392b")
ABSTAIN_COLOUR = "#bdc3c7"
# Segments dark enough that their count is printed in white.
DARK_COLOURS = frozenset(("#1e8449", "#c0392b", "#e67e22"))
# Light enough for the dark band lines to show across the bars.
BAR_COLOUR = "#85c1e9"
TEAM_LINE_COLOUR = "#922b21"
MEMBER_LINE_COLOUR = "#566573"
TEAM_LINE_LABEL = "领导班子得分分档线"
MEMBER_LINE_LABEL = "班子成员扣分分档线"
LABEL_MAX = 22


def option_colours(results: SessionResults) -> list[str]:
    """Colour good-or-better options green (darkest first) and the others amber to red."""
    good = results.questionnaire.good_or_better
    keys = [key for key, _ in option_labels(results)]
    bad_count = sum(1 for key in keys if key not in good)
    bad = list(BAD_COLOURS[-bad_count:]) if bad_count <= len(BAD_COLOURS) else []
    colours, g, b = [], 0, 0
    for key in keys:
        if key in good:
            colours.append(GOOD_COLOURS[min(g, len(GOOD_COLOURS) - 1)])
            g += 1
        else:
            colours.append(bad[b] if bad else BAD_COLOURS[b % len(BAD_COLOURS)])
            b += 1
    return colours


def row_label(row) -> str:
    """Name (post), cut to LABEL_MAX characters with an ellipsis."""
    label = f"{row.spec.name}（{row.spec.post}）" if row.spec.post else row.spec.name
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def item_label(results: SessionResults, rows) -> str:
    """The questionnaire item the distribution shows (the one the rate is scored on)."""
    key = rows[0].score_item if rows else None
    return next((item.label for item in results.questionnaire.items if item.key == key), "评价")
