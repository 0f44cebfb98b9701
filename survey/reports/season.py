"""A season's results as XLSX and PDF: the ranking of units, each member's final score, and how
every checklist point was reached. Pure functions over a SeasonOverview; no queries."""

from decimal import Decimal
from fractions import Fraction
from io import BytesIO

from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from survey.domain.numbers import format_decimal, format_fixed
from survey.reports.fonts import add_cjk_font
from survey.reports.xlsx import neutralise
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
    """Return one row per member: unit, name, post, role, rate, personal, final."""
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
    members.append(["单位", "姓名", "职务", "类别", "较好以上率", "个人得分", "最终得分"])
    for unit, name, post, role, rate, personal, final in member_rows(overview):
        members.append(
            [safe_text(unit), safe_text(name), safe_text(post), role, rate]
            + [_number(personal), _number(final)]
        )

    explain = book.create_sheet("计分说明")
    explain.append(["单位", "方面", "条目", "说明"])
    for row in overview.rows:
        for part, clause, line in _explanations(row):
            explain.append([safe_text(row.unit.name), part, clause, safe_text(line)])
    explain.column_dimensions["D"].width = 90
    for cell in explain["D"]:
        cell.alignment = Alignment(wrap_text=True)

    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class _SeasonPDF(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.title_text = title
        self.family = add_cjk_font(self)
        self.set_auto_page_break(True, margin=14)
        self.set_title(title)
        self.set_creator("民主测评平台")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, size=8)
        self.cell(0, 5, f"{self.title_text} · 第{self.page_no()}页", align="C")


def season_pdf(overview: SeasonOverview) -> bytes:
    """Return the season's results as a PDF: ranking, members and the checklist explanation."""
    season = overview.season
    pdf = _SeasonPDF(f"{season.name}：考核结果")
    family = pdf.family
    plain = FontFace(family=family, emphasis="")
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.multi_cell(0, 9, pdf.title_text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=8)
    pdf.multi_cell(0, 4.5, _source_line(overview), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "领导班子得分与名次", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    headings = ["名次", "单位", "民主测评", *[name for _, name in _part_names(overview)]]
    with pdf.table(headings_style=plain, text_align="CENTER") as table:
        table.row([*headings, "总分（百分制）", "十分制"])
        for place, unit, *numbers in ranking_rows(overview):
            table.row(["—" if place is None else str(place), unit, *[_text(v) for v in numbers]])

    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, "班子成员得分", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    with pdf.table(headings_style=plain, text_align="CENTER") as table:
        table.row(["单位", "姓名", "职务", "类别", "较好以上率", "个人得分", "最终得分"])
        for unit, name, post, role, rate, personal, final in member_rows(overview):
            table.row([unit, name, post, role, rate, _text(personal), _text(final)])

    for row in overview.rows:
        pdf.add_page()
        pdf.set_font(family, size=12)
        pdf.cell(0, 8, f"{row.unit.name}：考核细则计分说明", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=8.5)
        previous = None
        for part, clause, line in _explanations(row):
            if previous is not None and part != previous:
                pdf.ln(1.5)
            previous = part
            text = line if clause == "合计" else f"{clause} {line}"
            pdf.multi_cell(0, 4.6, text, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
