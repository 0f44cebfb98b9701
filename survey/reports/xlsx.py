"""The tally workbook (统计表): summary, shown rater groups, anonymous ballots, comments.

Numbers are numbers, so a spreadsheet can sort, filter and sum them: counts are integers,
points and scores are written as their exact decimal (format 0.00), rates as a number with the
format 0.00%; the exact rate is in its own column as a fraction ("189/199"), which is what the
bands are looked up with. Every string is stored as text and neutralised against formula
injection. Every sheet has a frozen, filterable header row and prints landscape, fitted to the
page width, with both seals in the header and the page number in the footer. The workbook is
written in openpyxl's write-only mode, which streams rows: 100,000 ballots fit in little memory.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from survey.domain.evaluation import SubjectResult
from survey.domain.numbers import format_decimal
from survey.domain.tally import MERGED_GROUP
from survey.reports.figures import (
    NO_VALID_VOTES,
    VERIFY_HINT,
    attest_pairs,
    band_text,
    chinese_punctuation,
    date_text,
    decimal_text,
    graded_text,
    hidden_groups_note,
    option_labels,
    rate_fraction,
    result_seal_text,
    role_label,
    seal_text,
    turnout_pairs,
)

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

SUMMARY_SHEET = "汇总"
BALLOTS_SHEET = "原始选票（匿名）"
COMMENTS_SHEET = "意见建议"
ABSTAIN = "弃权"
SHEET_NAME_MAX = 31
# Spreadsheets read a cell starting with these as a formula (CWE-1236).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_NAME_FORBIDDEN = re.compile(r"[/\\?*\[\]:]")
# Excel reserves this name for its change history.
_RESERVED_SHEET_NAMES = {"history"}

_TITLE_FONT = Font(size=14, bold=True)
_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDE6EE")
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
POINTS_FORMAT = "0.00##"
PERCENT_FORMAT = "0.00%"


@dataclass(frozen=True)
class Num:
    """An exact value written as a number cell with a display format."""

    value: Fraction | int | None
    format: str = POINTS_FORMAT


def as_decimal(value: Fraction | int) -> Decimal:
    """The exact decimal of a terminating value; 15 significant digits otherwise (1/3)."""
    value = Fraction(value)
    try:
        return Decimal(format_decimal(value))
    except ValueError:
        return Decimal(value.numerator) / Decimal(value.denominator)


def points(value) -> Num | None:
    return None if value is None else Num(value)


def percent(value) -> Num | None:
    return None if value is None else Num(value, PERCENT_FORMAT)


def neutralise(value: object) -> str:
    """Return text that no spreadsheet will run as a formula: a leading ' guards the triggers."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def sheet_name(wanted: str, taken: Iterable[str]) -> str:
    """Return a valid, unused sheet name: no /\\?*[]:, at most 31 characters, unique."""
    base = _SHEET_NAME_FORBIDDEN.sub("", wanted).strip().strip("'").strip() or "类别"
    used = {name.casefold() for name in taken} | _RESERVED_SHEET_NAMES
    name = base[:SHEET_NAME_MAX]
    number = 1
    while name.casefold() in used:
        number += 1
        suffix = f"（{number}）"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    return name


class _Sheet:
    """A write-only sheet that turns plain values into guarded cells, one row at a time."""

    def __init__(
        self,
        workbook: Workbook,
        title: str,
        widths: Iterable[float],
        banner: str = "",
        head_at: int = 2,
    ) -> None:
        self.sheet = workbook.create_sheet(title)
        self.rows = 0
        # Write-only sheets write their views before the first row: freeze up front.
        self.sheet.freeze_panes = f"C{head_at + 1}"
        widths = list(widths)
        self.last_column = get_column_letter(max(len(widths), 1))
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        # Printed as an archive copy: landscape, fitted to the page width, seals on every page.
        sheet = self.sheet
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = "9"  # A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        sheet.oddHeader.left.text = neutralise(title).replace("&", "&&")
        sheet.oddHeader.right.text = banner.replace("&", "&&")
        sheet.oddFooter.center.text = "第 &P 页 共 &N 页"

    def table_head(self, *values: object) -> None:
        """The header row of the sheet's table: frozen, filterable, wrapped between words."""
        self.row(*values, font=_HEAD_FONT, fill=_HEAD_FILL, align=_HEAD_ALIGN)
        self.head_row = self.rows
        self.sheet.print_title_rows = f"{self.rows}:{self.rows}"

    def close_table(self) -> None:
        """Put the filter on the table from its header row to the last row written."""
        self.sheet.auto_filter.ref = f"A{self.head_row}:{self.last_column}{max(self.rows, 1)}"

    def row(
        self, *values: object, font: Font | None = None, fill=None, wrap=False, align=None
    ) -> None:
        cells = []
        self.rows += 1
        for value in values:
            if value is None:
                cells.append(None)
                continue
            if isinstance(value, Num):
                if value.value is None:
                    cells.append(None)
                    continue
                cell = WriteOnlyCell(self.sheet, value=as_decimal(value.value))
                cell.number_format = value.format
            elif isinstance(value, int) and not isinstance(value, bool):
                cell = WriteOnlyCell(self.sheet, value=value)
            else:
                # Every string, ours included: none of ours starts with a trigger, and a
                # single rule cannot be forgotten for one field of user text.
                cell = WriteOnlyCell(self.sheet, value=neutralise(value))
                cell.data_type = "s"
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if wrap:
                cell.alignment = _WRAP
            if align is not None:
                cell.alignment = align
            cells.append(cell)
        self.sheet.append(cells)

    def head(self, *values: object) -> None:
        self.row(*values, font=_HEAD_FONT, fill=_HEAD_FILL)

    def blank(self) -> None:
        self.rows += 1
        self.sheet.append([])


def tally_workbook(results: SessionResults) -> bytes:
    """Return the XLSX tally of a session's results."""
    workbook = Workbook(write_only=True)
    workbook.properties.title = f"{results.session.title} 测评统计表"
    workbook.properties.subject = results.session.title
    workbook.properties.creator = "民主测评平台"
    workbook.properties.lastModifiedBy = "民主测评平台"
    seals = f"结束封存码 {seal_text(results)}；结果封存码 {result_seal_text(results)}"
    workbook.properties.keywords = seals
    _summary(workbook, results)
    taken = [SUMMARY_SHEET, BALLOTS_SHEET, COMMENTS_SHEET]
    for group in results.groups_shown:
        name = sheet_name(group, taken)
        taken.append(name)
        _group_sheet(workbook, results, group, name)
    ballot_rows = _ballots_sheet(workbook, results)
    comment_rows = _comments_sheet(workbook, results)
    buffer = io.BytesIO()
    workbook.save(buffer)
    number = {name: n for n, name in enumerate(workbook.sheetnames, start=1)}
    return _splice_rows(
        buffer.getvalue(),
        {number[BALLOTS_SHEET]: ballot_rows(), number[COMMENTS_SHEET]: comment_rows()},
    )


def _count_head(results: SessionResults) -> list[str]:
    return [*(label for _, label in option_labels(results)), ABSTAIN]


def _counts(results: SessionResults, counts) -> list[int]:
    return [*(counts.options[key] for key, _ in option_labels(results)), counts.abstain]


def _banner(results: SessionResults) -> str:
    """The print header: both seals, short, and the key's fingerprint."""
    close = (results.seal or "未封存")[:16]
    signed = (results.result_seal or "未签发")[:16]
    key = " ".join((results.key_fingerprint or "—").split()[:4])
    return f"结束封存码 {close}… 结果封存码 {signed}… 公钥 {key}…"


def _summary(workbook: Workbook, results: SessionResults) -> None:
    session, questionnaire, ruleset = results.session, results.questionnaire, results.ruleset
    options = len(option_labels(results))
    sheet = _Sheet(
        workbook,
        SUMMARY_SHEET,
        [6, 22, 26, 12, 7, 7, 9, *([7] * (options + 1)), 13, 13, 13, 13, 9, 11, 11, 20, 10, 10],
        _banner(results),
    )
    sheet.row(session.title, font=_TITLE_FONT)
    # Seed 003's grade is given on the combined 百分制: say which score each column holds.
    rate = questionnaire.rate_label  # 较好以上率, 称职以上率, 满意率
    if ruleset.combined is not None:
        graded_head = ["综合得分（组织考评＋群众评议）", "等次（按综合得分）"]
    else:
        graded_head = ["问卷得分", "等次"]
    extra = graded_head if questionnaire.scored else []
    sheet.table_head(
        "序号", "测评对象", "职务", "类别", "应到", "收回", "有效票", *_count_head(results),
        f"{rate.removesuffix('率')}票数", f"{rate}（分数）", f"{rate}（百分比）",
        "民主测评得分", "扣分", "个人得分", "最终得分", "所在分档", *extra,
    )  # fmt: skip
    for number, row in enumerate(results.subjects, start=1):
        counts = row.counts
        sheet.row(
            number, row.spec.name, row.spec.post, role_label(row), results.expected,
            results.received,
            *([counts.valid, *_counts(results, counts)] if counts else [None] * (options + 2)),
            row.good_or_better,
            rate_fraction(row) or None,
            percent(row.rate) if row.rate is not None else (NO_VALID_VOTES if counts else None),
            points(row.points), points(row.deduction), points(row.personal), points(row.final),
            band_text(row),
            # A number, unless rounding would suggest another grade: then the exact fraction.
            *(
                [graded_text(row) if row.score_note else Num(row.graded_score), row.grade]
                if questionnaire.scored
                else []
            ),
        )  # fmt: skip
    sheet.close_table()

    sheet.blank()
    sheet.head("测评信息")
    sheet.row("测评名称", session.title)
    sheet.row("单位", session.unit or "—")
    sheet.row("测评日期", date_text(results))
    sheet.row("测评类型", session.meeting_type.label)
    sheet.row("测评表", f"{questionnaire.title}（版本 {questionnaire.version}）")
    sheet.row("状态", session.state.label)
    sheet.row("应到（人）", results.expected)
    sheet.row("收回（份）", results.received)
    participation = results.tally.participation()
    if participation is not None:
        sheet.row("参与率", f"{results.received}/{results.expected}", percent(participation))
    for label, value in turnout_pairs(results):
        sheet.row(label, value)
    if results.groups_hidden:
        sheet.row("说明", hidden_groups_note(results))

    if questionnaire.scored or any(len(row.items) > 1 for row in results.subjects):
        _items_block(sheet, results)
    _team_block(sheet, results)

    sheet.blank()
    sheet.head("计分规则")
    sheet.row("规则集", ruleset.name)
    sheet.row("编号", ruleset.id)
    sheet.row("版本", ruleset.version)
    sheet.row("SHA-256", ruleset.sha256)
    if ruleset.basis:
        sheet.row("依据", ruleset.basis)
    for line in ruleset.describe().splitlines()[2:]:
        sheet.row("", chinese_punctuation(line))
    sheet.blank()
    sheet.head("封存与签发")
    for label, value in attest_pairs(results):
        sheet.row(label, value)
    sheet.row("校验", f"{VERIFY_HINT}（归档包中的 archive.json）")


def _items_block(sheet: _Sheet, results: SessionResults) -> None:
    """List every item of every subject, for forms with several items or item points."""
    questionnaire = results.questionnaire
    labels = {item.key: item for item in questionnaire.items}
    sheet.blank()
    sheet.head("分项统计")
    sheet.head(
        "序号", "测评对象", "测评项目", "分值" if questionnaire.scored else "", "有效票",
        *_count_head(results), f"{questionnaire.rate_label}（分数）",
        f"{questionnaire.rate_label}（百分比）", "平均得分" if questionnaire.scored else "",
    )  # fmt: skip
    for number, row in enumerate(results.subjects, start=1):
        averages = {item.key: item.average for item in row.scored}
        for key, counts in row.items.items():
            item = labels[key]
            rate = counts.rate(questionnaire)
            good = counts.good_or_better(questionnaire)
            average = averages.get(key)
            sheet.row(
                number, row.spec.name, item.label, points(item.points), counts.valid,
                *_counts(results, counts),
                f"{good}/{counts.valid}" if rate is not None else None,
                percent(rate) if rate is not None else NO_VALID_VOTES,
                points(average),
            )  # fmt: skip


def _team_block(sheet: _Sheet, results: SessionResults) -> None:
    total = results.team_total
    sheet.blank()
    sheet.head("领导班子得分")
    if total is None:
        if results.ruleset.team_parts is not None:
            sheet.row("", "其他考核部分尚未录入，暂不计算领导班子总分和最终得分。")
        else:
            sheet.row("", "该规则集没有领导班子总分。")
        return
    sheet.head("", "考核项目", "满分", "录入得分", "计入得分", "说明")
    for part in total.parts:
        note = "超过满分，按满分计入" if part.capped else ""
        sheet.row(
            "", part.name, points(part.maximum), points(part.entered), points(part.counted), note,
        )  # fmt: skip
    parts = results.ruleset.team_parts
    sheet.row("", "总分", points(parts.total), None, points(total.total))
    scaled_max = decimal_text(parts.scaled_total)
    sheet.row("", f"换算为{scaled_max}分制", points(parts.scaled_total), None, points(total.scaled))


def _group_sheet(workbook: Workbook, results: SessionResults, group: str, name: str) -> None:
    expected = next((g.expected for g in results.tally.groups if g.name == group), 0)
    received = results.tally.received_by_group.get(group, 0)
    options = len(option_labels(results))
    sheet = _Sheet(
        workbook, name, [6, 22, 26, 12, 9, *([7] * (options + 1)), 13, 13, 13], _banner(results)
    )
    sheet.row(f"参评人员类别：{group}", font=_TITLE_FONT)
    rate = results.questionnaire.rate_label
    sheet.table_head(
        "序号", "测评对象", "职务", "类别", "有效票", *_count_head(results),
        f"{rate.removesuffix('率')}票数", f"{rate}（分数）", f"{rate}（百分比）",
    )  # fmt: skip
    questionnaire = results.questionnaire
    for number, row in enumerate(results.subjects, start=1):
        counts = row.by_group.get(group)
        if counts is None:
            continue
        rate = counts.rate(questionnaire)
        good = counts.good_or_better(questionnaire)
        sheet.row(
            number, row.spec.name, row.spec.post, role_label(row), counts.valid,
            *_counts(results, counts), good,
            f"{good}/{counts.valid}" if rate is not None else None,
            percent(rate) if rate is not None else NO_VALID_VOTES,
        )  # fmt: skip
    sheet.close_table()
    sheet.blank()
    sheet.row("应到（人）", expected)
    sheet.row("收回（份）", received)
    sheet.row("说明", "本表为该类别选票的分类统计；得分按规则集由全部选票计算，见“汇总”。")


def _ballot_columns(results: SessionResults) -> list[tuple[SubjectResult, str, str]]:
    """Return (subject, item key, heading) for every answer a ballot can hold."""
    labels = {item.key: item.label for item in results.questionnaire.items}
    columns = []
    for row in results.subjects:
        keys = list(row.items)
        for key in keys:
            heading = row.spec.name if len(keys) == 1 else f"{row.spec.name}·{labels[key]}"
            columns.append((row, key, heading))
    return columns


def _ballots_sheet(workbook: Workbook, results: SessionResults) -> Callable[[], Iterator[str]]:
    """Add the raw-ballot sheet with its heading; return a source of its rows as sheet XML.

    openpyxl spends microseconds on every cell, a minute for 100,000 ballots × 30 subjects.
    The few distinct cells of this sheet (a rating, 弃权, a group) are serialised once, and
    `_splice_rows` streams the rows into the saved file from `results.iter_ballots()`, a
    chunk of ballots at a time: memory stays flat in the number of ballots.
    """
    columns = _ballot_columns(results)
    widths = [8, 16, *([12] * len(columns))]
    sheet = _Sheet(workbook, BALLOTS_SHEET, widths, _banner(results), head_at=1)
    sheet.table_head("序号", "参评人员类别", *(heading for _, _, heading in columns))
    received = results.received
    # The filter covers the rows streamed in later: as many as the tally received.
    sheet.rows += received
    sheet.close_table()
    first = sheet.rows - received + 1  # the row of the first ballot
    # The cell of each answer, a blank line (None) being 弃权.
    cells = {key: _text_cell(label) for key, label in option_labels(results)}
    cells[None] = _text_cell(ABSTAIN)
    shown = set(results.groups_shown)
    # A hidden group's ballots must not be picked out one by one either.
    groups = {
        name: _text_cell(name if name in shown else MERGED_GROUP)
        for name in results.tally.received_by_group
    }
    keys = [(row.spec.id, key) for row, key, _ in columns]

    def rows() -> Iterator[str]:
        number = 0
        for number, ballot in enumerate(results.iter_ballots(), start=1):
            ratings = ballot.ratings
            yield "".join(
                (
                    f'<row r="{first + number - 1}"><c t="n"><v>{number}</v></c>',
                    groups.get(ballot.group) or _text_cell(MERGED_GROUP),
                    *[cells.get(ratings.get(key)) or _text_cell(ratings[key]) for key in keys],
                    "</row>",
                )
            )
        if number != received:  # the filter and the 收回 figure would not match the sheet
            raise ValueError(f"{number} ballots streamed, {received} counted")

    return rows


def _text_cell(value: object, style: str = "") -> str:
    """One inline-string cell, neutralised like every other text of the workbook."""
    return f'<c{style} t="inlineStr"><is><t>{xml_escape(neutralise(value))}</t></is></c>'


def _splice_rows(saved: bytes, sheets: dict[int, Iterator[str]]) -> bytes:
    """Copy the saved workbook, streaming rows into the given sheets after their heading.

    `sheets` maps a sheet's number to its rows. The sheet's XML as openpyxl wrote it ends
    its rows with </sheetData>, followed by the filter, print settings and header; the
    streamed rows go in just before that tag. Fast deflate for the big sheets: their rows
    repeat a handful of cells, so level 1 compresses them nearly as well, several times faster.
    """
    names = {f"xl/worksheets/sheet{number}.xml": rows for number, rows in sheets.items()}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(saved)) as source,
        # compresslevel applies to the member opened by name; the copied ones keep theirs.
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target,
    ):
        for info in source.infolist():
            body = source.read(info)
            rows = names.get(info.filename)
            if rows is None:
                target.writestr(info, body)
                continue
            head, tail = body.split(b"</sheetData>", 1)
            with target.open(info.filename, "w", force_zip64=True) as stream:
                stream.write(head)
                while chunk := list(itertools.islice(rows, 1000)):
                    stream.write("".join(chunk).encode())
                stream.write(b"</sheetData>" + tail)
    return out.getvalue()


def _comments_sheet(workbook: Workbook, results: SessionResults) -> Callable[[], Iterator[str]]:
    """Add the 意见建议 sheet with its heading; return a source of its rows as sheet XML.

    Streamed like the raw-ballot sheet: tens of thousands of comments at 100,000 ballots
    cost openpyxl seconds cell by cell; here each row is three inline-string cells sharing
    one registered style (wrapped text).
    """
    sheet = _Sheet(workbook, COMMENTS_SHEET, [22, 26, 80], _banner(results))
    sheet.row("意见建议（无记名，按文字排序，不反映填写顺序）", font=_TITLE_FONT)
    sheet.table_head("测评对象", "职务", "意见建议")
    # Sorted by text: in ballot order, the k-th comments on two subjects (and the k-th row
    # of the ballots sheet) would come from the same rater.
    blocks = [
        (row.spec.name, row.spec.post, sorted(row.comments))
        for row in results.subjects
        if row.comments
    ]
    if results.overall_comments:
        blocks.append(("（总体意见建议）", "", sorted(results.overall_comments)))
    if not blocks:
        sheet.row("（无）")
        sheet.close_table()
        return lambda: iter(())
    first = sheet.rows + 1
    sheet.rows += sum(len(comments) for _, _, comments in blocks)
    sheet.close_table()
    wrapped = WriteOnlyCell(sheet.sheet)
    wrapped.alignment = _WRAP
    style = f' s="{wrapped.style_id}"'  # registers the style with the workbook

    def rows() -> Iterator[str]:
        number = first
        for name, post, comments in blocks:
            # An empty post is an empty cell, as openpyxl leaves an empty string.
            head = _text_cell(name, style) + (_text_cell(post, style) if post else f"<c{style}/>")
            for comment in comments:
                yield f'<row r="{number}">{head}{_text_cell(comment, style)}</row>'
                number += 1

    return rows
