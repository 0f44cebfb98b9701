"""A season's results as XLSX and PDF: the ranking of units, each member's final score, and how
every checklist point was reached. Pure functions over a SeasonOverview; no queries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from io import BytesIO
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from survey.domain.numbers import format_decimal, format_fixed
from survey.reports.figures import beijing_text, session_date_text
from survey.reports.fonts import add_cjk_font
from survey.reports.pdf import chinese_lines
from survey.reports.xlsx import neutralise

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.seasons import SeasonOverview, UnitRow


def safe_text(value: str) -> str:
    """The session workbook's neutraliser: no control characters (which openpyxl refuses to
    write, failing the whole download) and no formula (CWE-1236)."""
    return neutralise(value)


def _number(value: Fraction | None) -> Decimal | None:
    """Return an exact decimal for a cell (openpyxl writes Decimal digits as they are)."""
    if value is None:
        return None
    try:
        return Decimal(format_decimal(value))
    except ValueError:
        return Decimal(format_fixed(value, 4))


def _text(value: Fraction | None) -> str:
    return "—" if value is None else format_decimal(value)


def _part_names(overview: SeasonOverview) -> list[tuple[str, str]]:
    return [(part.key, part.name) for part in overview.checklist.parts]


def _source_line(overview: SeasonOverview) -> str:
    checklist = overview.checklist
    line = (
        f"考核细则：{checklist.label}，SHA-256 {checklist.sha256}；"
        "名次可以并列，并列者同取较好名次，其后名次空缺。"
    )
    if overview.ranking_provisional:
        line += f"排名暂定：{'、'.join(overview.ranking_waiting_for)}的考核事实或得分尚未齐全。"
    stale = [row.unit.name for row in overview.rows if not row.applied]
    if stale:
        line += (
            f"注意：{'、'.join(stale)}的考核细则得分尚未写入测评或事实已变更，总分不是最终结果。"
        )
    return line


def ranking_rows(overview: SeasonOverview) -> list[list]:
    """Return the ranking table: place, unit, 民主测评, each part, total, 10-point scale."""
    rows = []
    for row in overview.ranking:
        points = row.stored_parts
        rows.append(
            [
                row.place,
                row.unit.name,
                row.survey_points,
                *[points.get(key) for key, _ in _part_names(overview)],
                row.team_total,
                row.team_scaled,
            ]
        )
    return rows


def member_rows(overview: SeasonOverview) -> list[list]:
    """Return one row per member: unit, name, post, role, rate text, personal, final, rate."""
    rows = []
    for row in overview.rows:
        for member in row.members:
            rows.append(
                [
                    row.unit.name,
                    member.spec.name,
                    member.spec.post,
                    member.spec.role.label,
                    member.rate_text,
                    member.personal,
                    member.final,
                    member.rate,
                    member.rate_fraction,
                ]
            )
    return rows


def _explanations(row: UnitRow) -> list[tuple[str, str, str]]:
    """Return (part, clause, sentence) for every line of every part, then the part's total."""
    found = []
    for part in row.checklist_score.parts:
        found += [(part.part.name, line.item.clause, line.text) for line in part.lines]
        found.append((part.part.name, "合计", part.note))
    return found


def season_workbook(overview: SeasonOverview) -> bytes:
    """Return the season's results as an XLSX workbook with three sheets."""
    season = overview.season
    book = Workbook()
    sheet = book.active
    sheet.title = "单位排名"
    sheet.append([safe_text(f"{season.name}（{season.year}年度）")])
    sheet["A1"].font = Font(size=14)
    sheet.append([safe_text(_source_line(overview))])
    headings = ["名次", "单位", "民主测评", *[name for _, name in _part_names(overview)]]
    sheet.append([*headings, "领导班子总分（百分制）", "折合十分制"])
    for cells in ranking_rows(overview):
        place, unit, *numbers = cells
        sheet.append([place, safe_text(unit), *[_number(v) for v in numbers]])
    sheet.column_dimensions["B"].width = 24

    members = book.create_sheet("班子成员")
    members.append(
        ["单位", "姓名", "职务", "类别", "较好以上率", "个人得分", "最终得分", "较好以上率（分数）"]
    )
    for unit, name, post, role, _text, personal, final, rate, fraction in member_rows(overview):
        members.append(
            [safe_text(unit), safe_text(name), safe_text(post), role, _rate_number(rate)]
            + [_number(personal), _number(final), fraction]
        )
        members.cell(members.max_row, 5).number_format = "0.00%"
        members.cell(members.max_row, 6).number_format = "0.00##"
        members.cell(members.max_row, 7).number_format = "0.00##"

    explain = book.create_sheet("计分说明")
    explain.append(["单位", "方面", "条目", "说明"])
    for row in overview.rows:
        for part, clause, line in _explanations(row):
            explain.append([safe_text(row.unit.name), part, clause, safe_text(line)])
    explain.column_dimensions["D"].width = 90
    for cell in explain["D"]:
        cell.alignment = Alignment(wrap_text=True)

    for ranked in sheet.iter_rows(min_row=4):
        for cell in ranked[2:]:
            cell.number_format = "0.00##"
    # The season's own seal is the checklist's hash; each unit's session seals are in the PDF.
    banner = f"考核细则 SHA-256 {overview.checklist.sha256[:16]}…"
    _sheet_setup(sheet, 3, season.name, banner)
    _sheet_setup(members, 1, season.name, banner)
    _sheet_setup(explain, 1, season.name, banner)
    # Document properties are XML too: a control character there makes the file unreadable.
    book.properties.title = safe_text(f"{season.name}（{season.year}年度）考核结果")
    book.properties.creator = "民主测评平台"
    book.properties.lastModifiedBy = "民主测评平台"
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rate_number(rate: Fraction | None) -> Decimal | None:
    """A rate as a number for the 0.00% format; the exact fraction has its own column."""
    if rate is None:
        return None
    return Decimal(rate.numerator) / Decimal(rate.denominator)


def _sheet_setup(sheet, head_row: int, title: str, banner: str) -> None:
    """Frozen, filterable header; landscape, fitted to the page width; page numbers."""
    sheet.freeze_panes = f"C{head_row + 1}"
    sheet.auto_filter.ref = f"A{head_row}:{get_column_letter(sheet.max_column)}{sheet.max_row}"
    for cell in sheet[head_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for column in range(1, sheet.max_column + 1):
        letter = get_column_letter(column)
        head = sheet.cell(head_row, column).value or ""
        wanted = max(8, min(40, 2.2 * len(str(head)) + 2))
        if (sheet.column_dimensions[letter].width or 0) < wanted:
            sheet.column_dimensions[letter].width = wanted
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.oddHeader.left.text = safe_text(title).replace("&", "&&")
    sheet.oddHeader.right.text = banner
    sheet.oddFooter.center.text = "第 &P 页 共 &N 页"


class _SeasonPDF(FPDF):
    """Landscape A4, PDF/A-2B like the session reports; every page names its unit and counts."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4", enforce_compliance="PDFA_2B")
        self.title_text = title
        self.family = add_cjk_font(self)
        self.unit_name = "全部单位"
        self.generated = beijing_text(datetime.now(UTC))
        self.set_auto_page_break(True, margin=16)
        self.set_title(title)
        self.set_creator("民主测评平台")
        self.set_lang("zh-CN")
        self.alias_nb_pages()

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(self.family, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.title_text} · {self.unit_name}", align="L")
        self.set_text_color(0, 0, 0)
        self.ln(7)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, size=8)
        self.set_text_color(110, 110, 110)
        text = f"{self.title_text} · {self.unit_name} · 第 {self.page_no()} 页 共 {{nb}} 页"
        self.cell(0, 4, text, align="C", new_x="LMARGIN", new_y="NEXT")
        self.cell(0, 4, f"生成时间 {self.generated}", align="C")
        self.set_text_color(0, 0, 0)

    def signatures(self) -> None:
        """Signature lines and a square for the official seal (公章)."""
        box = 30.0
        if self.will_page_break(box + 8):
            self.add_page()
        self.ln(4)
        top = self.get_y()
        self.set_font(self.family, size=10.5)
        blank = "________________"
        for line in (f"考核组：{blank}", f"审核人：{blank}", f"日期：{blank}"):
            self.cell(self.epw - box - 6, 9, line, new_x="LMARGIN", new_y="NEXT")
        x = self.l_margin + self.epw - box
        self.rect(x, top, box, box)
        self.set_xy(x, top + box / 2 - 3)
        self.set_font(self.family, size=9)
        self.cell(box, 6, "（盖章）", align="C")
        self.set_xy(self.l_margin, top + box + 2)


def unit_attest_rows(overview: SeasonOverview) -> list[list[str]]:
    """Per unit: its session's date, close and sign-off times and both seals (— if none)."""
    rows = []
    for row in overview.rows:
        session = row.session
        if session is None:
            rows.append([row.unit.name, "未关联测评", "—", "—", "—", "—"])
            continue
        rows.append(
            [
                row.unit.name,
                session_date_text(session),
                beijing_text(session.closed_at),
                beijing_text(session.signed_off_at),
                session.seal or "未封存",
                session.result_seal or "未签发",
            ]
        )
    return rows


def _paragraph(pdf: FPDF, text: str, height: float) -> None:
    """Wrapped text across the page, broken as Chinese text is (no line starts with ，)."""
    pdf.set_x(pdf.l_margin)
    lines = chinese_lines(pdf, text, pdf.epw - 2 * pdf.c_margin - 0.3)
    pdf.multi_cell(0, height, "\n".join(lines), align="L", new_x="LMARGIN", new_y="NEXT")


def season_pdf(overview: SeasonOverview) -> bytes:
    """Return the season's results as a PDF: ranking, members and the checklist explanation."""
    season = overview.season
    pdf = _SeasonPDF(f"{season.name}：考核结果")
    family = pdf.family
    plain = FontFace(family=family, emphasis="")
    pdf.add_page()
    pdf.set_font(family, size=16)
    _paragraph(pdf, pdf.title_text, 9)
    pdf.set_font(family, size=8)
    _paragraph(pdf, _source_line(overview), 4.5)
    pdf.ln(2)

    pdf.set_font(family, size=12)
    title = "领导班子得分与名次（暂定）" if overview.ranking_provisional else "领导班子得分与名次"
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    headings = ["名次", "单位", "民主测评", *[name for _, name in _part_names(overview)]]
    with pdf.table(headings_style=plain, text_align="CENTER") as table:
        table.row([*headings, "总分（百分制）", "十分制"])
        for place, unit, *numbers in ranking_rows(overview):
            shown = "—" if place is None else str(place)
            if place in overview.tied_places:
                shown += "（并列）"
            table.row([shown, unit, *[_text(v) for v in numbers]])

    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "班子成员得分", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    with pdf.table(headings_style=plain, text_align="CENTER") as table:
        table.row(["单位", "姓名", "职务", "类别", "较好以上率", "个人得分", "最终得分"])
        for unit, name, post, role, rate, personal, final, *_ in member_rows(overview):
            table.row([unit, name, post, role, rate, _text(personal), _text(final)])

    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "各单位测评日期、签发与封存码", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=7.5)
    with pdf.table(
        headings_style=plain,
        text_align="LEFT",
        col_widths=(30, 28, 42, 42, 67, 67),
        wrapmode=WrapMode.CHAR,
    ) as table:
        table.row(["单位", "测评日期", "结束时间", "签发时间", "结束封存码", "结果封存码"])
        for cells in unit_attest_rows(overview):
            table.row(cells)
    pdf.set_font(family, size=8)
    _paragraph(
        pdf,
        "封存码为各单位测评的 SHA-256 摘要，由平台签名密钥签名；"
        "可用 survey verify 或平台“归档校验”页校验各单位的归档文件。",
        4.5,
    )

    pdf.signatures()
    attest = {cells[0]: cells for cells in unit_attest_rows(overview)}
    for row in overview.rows:
        pdf.unit_name = row.unit.name
        pdf.add_page()
        pdf.set_font(family, size=12)
        pdf.cell(0, 8, f"{row.unit.name}：考核细则计分说明", new_x="LMARGIN", new_y="NEXT")
        _, day, _, signed, close_seal, result_seal = attest[row.unit.name]
        pdf.set_font(family, size=8)
        _paragraph(
            pdf,
            f"测评日期：{day}；签发时间：{signed}；结束封存码：{close_seal}；"
            f"结果封存码：{result_seal}",
            4.5,
        )
        pdf.ln(1)
        pdf.set_font(family, size=8.5)
        previous = None
        for part, clause, line in _explanations(row):
            if previous is not None and part != previous:
                pdf.ln(1.5)
            previous = part
            text = line if clause == "合计" else f"{clause} {line}"
            _paragraph(pdf, text, 4.6)
    return bytes(pdf.output())
