"""The 汇报测评 result report as PDF, and the page layout every result PDF shares.

Text is set in the embedded (subset) Noto Sans CJK SC, Regular only: headings are larger, not
bold. Charts are drawn as vectors and text (vector_charts.py). Every page carries
"第 n 页 共 m 页" and the seal.
Documents are written as PDF/A-2B (fpdf2's enforce_compliance), the archival profile.

Embedding the whole font would be most of the cost of a document (fontTools subsets and
recompiles it every time): render() builds every document with a small TrueType cut of the
characters the session's documents print (fonts.CjkGlyphs, cached per process); a document
that still meets a character outside the cut is built again with it added.
"""

from __future__ import annotations

import io
import string
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import WrapMode

from survey.domain.attest import pdf_placeholder
from survey.domain.bands import BoundUnit
from survey.domain.evaluation import SubjectResult
from survey.domain.roles import SubjectRole
from survey.reports import figures, vector_charts
from survey.reports.figures import (
    VERIFY_HINT,
    attest_pairs,
    average_text,
    beijing_text,
    chinese_punctuation,
    date_text,
    decimal_text,
    grade_text,
    graded_text,
    hidden_groups_note,
    option_labels,
    percent_text,
    points_text,
    rate_fraction,
    rate_percent,
    rate_text,
    role_label,
    scored_rows,
    table_of,
    turnout_pairs,
)
from survey.reports.fonts import (
    CJK_FAMILY,
    CJK_GLYPHS,
    add_cjk_font,
    add_fallback_fonts,
    stand_in,
)

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

MARGIN = 18.0
TOP = 16.0
BOTTOM = 22.0
INK = (0, 0, 0)
GREY = (110, 110, 110)
HEAD_FILL = (228, 233, 238)
SIGN_LINE = "________________"
QR_PREFIX = "SURVEY"
# Characters a Chinese line never starts with (GB/T 15834 punctuation, closing brackets).
NO_LINE_START = frozenset("，。；：、！？）》」』】〕…%,.;:!?)")
_ALIGN = {"LEFT": "L", "CENTER": "C", "RIGHT": "R", "L": "L", "C": "C", "R": "R"}


def footer_seal_line(results: SessionResults) -> str:
    """The footer's short form of both seals and the fingerprint; the full ones are in the body."""
    close = f"{results.seal[:16]}…" if results.seal else "未封存"
    result = f"{results.result_seal[:16]}…" if results.result_seal else "未签发"
    short = " ".join((results.key_fingerprint or "").split()[:4])
    return f"结束封存码 {close}　结果封存码 {result}　公钥指纹 {short or '—'}…"


def qr_png(text: str) -> bytes:
    """A QR code a phone can read, as a PNG without alpha (PDF/A forbids transparency)."""
    import qrcode
    from PIL import Image

    # A fixed mask: any of the eight is valid and reads alike; choosing the best one drew the
    # whole symbol eight times, most of the cost of a sheet's QR code.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=4, mask_pattern=2
    )
    code.add_data(text)
    code.make(fit=True)
    # One pixel a module, enlarged without smoothing: qrcode's own image drew every module
    # as a rectangle, slower than the encoding itself.
    matrix = code.get_matrix()
    size = len(matrix)
    modules = bytes(0 if dark else 255 for row in matrix for dark in row)
    image = Image.frombytes("L", (size, size), modules).resize(
        (size * 4, size * 4), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def qr_text(results: SessionResults, subject: str | None = None) -> str:
    """What the QR code says: session, subject, both seals and the key fingerprint."""
    parts = [
        QR_PREFIX,
        f"session={results.session.id}",
        *([f"subject={subject}"] if subject is not None else []),
        f"close_seal={results.seal or ''}",
        f"result_seal={results.result_seal or ''}",
        f"key={(results.key_fingerprint or '').replace(' ', '')}",
    ]
    return ";".join(parts)


def chinese_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """Break text into lines of at most width (mm) in pdf's current font and size, as Chinese
    typesetting does: a line never starts with ，。；：、 or a closing bracket (the character
    before comes down with it). The text's own line breaks are kept."""
    widths = pdf.current_font.cw
    # cw is in thousandths of the font size (pt); the page is measured in mm.
    limit = width / (pdf.font_size_pt * 0.001 / pdf.k)
    lines = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for char in paragraph:
            wide = widths[ord(char)]
            if not line or used + wide <= limit:
                line, used = line + char, used + wide
                continue
            if char in NO_LINE_START and len(line) > 1:
                lines.append(line[:-1])
                line = line[-1] + char
            else:
                lines.append(line)
                line = char
            used = sum(widths[ord(c)] for c in line)
        lines.append(line)
    return lines


class ResultDocument(FPDF):
    """An A4 page with the session's seal and the page count in every footer."""

    def __init__(self, results: SessionResults, title: str, font: Path | None = None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance="PDFA_2B")
        if font is None:
            self.family = add_cjk_font(self)
        else:
            self.add_font(CJK_FAMILY, style="", fname=str(font))
            self.family = CJK_FAMILY
        # Characters Noto lacks (CJK Extension B and beyond) come from a fallback font.
        # Any character no font has at all is printed as its code point, never dropped.
        self._lacking = add_fallback_fonts(self, session_texts(results))
        for loaded in self.fonts.values():
            # Skip recomputing every kept glyph's bounding box when the subset is saved: the
            # slowest step, and needless, since the PDF's FontBBox is read from the font header.
            if hasattr(loaded, "ttfont"):
                loaded.ttfont.recalcBBoxes = False
        self.seal_line = footer_seal_line(results)
        self.set_margins(MARGIN, TOP, MARGIN)
        self.set_auto_page_break(True, margin=BOTTOM)
        self.set_title(title)
        self.set_subject(results.session.title)
        self.set_creator("民主测评平台")
        self.set_lang("zh-CN")
        # The slot survey/exports.py writes the signed statement into (domain/attest.py).
        self.set_keywords(pdf_placeholder())
        self.alias_nb_pages()

    def normalize_text(self, text: str) -> str:
        if self._lacking and any(char in self._lacking for char in text):
            text = "".join(stand_in(c) if c in self._lacking else c for c in text)
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-BOTTOM + 6)
        self.set_text_color(*GREY)
        self.set_font(self.family, size=8)
        self.cell(w=0, h=4, text=f"第 {self.page_no()} 页 共 {{nb}} 页", align="C")
        self.ln(4.5)
        self.set_font(self.family, size=6.5)
        self.cell(w=0, h=3.5, text=self.seal_line, align="C")
        self.set_text_color(*INK)

    def block(self, text: str, height: float, align: str = "L", border: int = 0) -> None:
        """Print wrapped text across the text width and return to the left margin."""
        # Back at the margin first: a zero-width cell makes fpdf2's CHAR wrapping loop forever.
        self.set_x(self.l_margin)
        padding = 2 if border else 0
        self.multi_cell(
            w=self.epw,
            h=height,
            # fpdf2 keeps c_margin free on each side; a little slack for rounding.
            text=self.wrap_chinese(text, self.epw - 2 * (padding + self.c_margin) - 0.3),
            align=align,
            border=border,
            padding=2 if border else 0,
            wrapmode=WrapMode.CHAR,
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def wrap_chinese(self, text: str, width: float) -> str:
        """Break lines as Chinese typesetting does: never start a line with ，。；：、 or a
        closing bracket (the character before comes down with it)."""
        return "\n".join(self.wrap_lines(text, width))

    def wrap_lines(self, text: str, width: float) -> list[str]:
        """The lines of text (its own line breaks kept) set in the current font and size."""
        return chinese_lines(self, text, width)

    def heading(self, text: str, size: float = 12.5) -> None:
        """Start a section: larger type and some air, never bold (the font has no bold)."""
        if self.will_page_break(size * 1.6):
            self.add_page()
        self.ln(3)
        self.set_font(self.family, size=size)
        self.block(text, size * 0.55)
        self.ln(1.5)

    def paragraph(self, text: str, size: float = 9.5, colour=INK) -> None:
        """Print a paragraph of wrapped text."""
        self.set_text_color(*colour)
        self.set_font(self.family, size=size)
        self.block(text, size * 0.5)
        self.set_text_color(*INK)
        self.ln(1)

    def title_block(self, title: str, subtitle: str) -> None:
        """Print the document's title, centred, with a grey subtitle."""
        self.set_font(self.family, size=17)
        self.block(title, 9, align="C")
        self.set_font(self.family, size=11)
        self.set_text_color(*GREY)
        self.block(subtitle, 6, align="C")
        self.set_text_color(*INK)
        self.ln(3)

    def facts(self, pairs: list[tuple[str, str]], size: float = 9.5) -> None:
        """Print label–value rows as a two-column table."""
        self.rows_table(
            [[label, value] for label, value in pairs],
            [34, self.epw - 34],
            size=size,
            line_height=size * 0.55,
            padding=(1, 1.5),
            align=["L", "L"],
            fills=[HEAD_FILL, None],
        )

    def grid(
        self,
        head: list[str],
        rows: list[list[str]],
        widths: list[float],
        size: float = 7.5,
        align: list[str] | None = None,
    ) -> None:
        """Print a table with a shaded heading row repeated on every page."""
        self.rows_table(
            rows,
            widths,
            size=size,
            line_height=size * 0.5,
            padding=(0.8, 0.6),
            align=[_ALIGN[a] for a in align] if align else ["C"] * len(widths),
            head=head,
        )

    def rows_table(
        self,
        rows: list[list[str]],
        widths: list[float],
        *,
        size: float,
        line_height: float,
        padding: tuple[float, float],
        align: list[str],
        fills: list[tuple[int, int, int] | None] | None = None,
        head: list[str] | None = None,
    ) -> None:
        """Print a ruled table; a cell's text wraps as Chinese text does, every row is kept on
        one page, and the heading row (shaded, centred) is repeated on each page.

        Drawn with single-line cells over text wrapped here: fpdf2's table measured each
        line again for every character added to it, most of the time of a result sheet.
        """
        self.set_font(self.family, size=size)
        across, down = padding[1], padding[0]

        def lay_out(values: list[str]) -> tuple[list[list[str]], float]:
            lines = [
                self.wrap_lines(str(value), width - 2 * across)
                for value, width in zip(values, widths, strict=True)
            ]
            return lines, max(len(cell) for cell in lines) * line_height + 2 * down

        heading = lay_out(head) if head is not None else None

        def draw(lines, height, fill_row, aligns) -> None:
            x, y = self.l_margin, self.get_y()
            for cell, width, fill, side in zip(lines, widths, fill_row, aligns, strict=True):
                if fill is not None:
                    self.set_fill_color(*fill)
                self.rect(x, y, width, height, style="DF" if fill is not None else "D")
                top = y + (height - len(cell) * line_height) / 2
                for number, line in enumerate(cell):
                    self.set_xy(x + across, top + number * line_height)
                    self.cell(w=width - 2 * across, h=line_height, text=line, align=side)
                x += width
            self.set_xy(self.l_margin, y + height)

        saved_margin, self.c_margin = self.c_margin, 0
        try:
            if heading is not None:
                if self.will_page_break(heading[1] + line_height * 2):
                    self.add_page()
                draw(*heading, [HEAD_FILL] * len(widths), ["C"] * len(widths))
            for values in rows:
                lines, height = lay_out(values)
                if self.will_page_break(height):
                    self.add_page()
                    if heading is not None:
                        draw(*heading, [HEAD_FILL] * len(widths), ["C"] * len(widths))
                draw(lines, height, fills or [None] * len(widths), align)
        finally:
            self.c_margin = saved_margin

    def signatures(self, lines: list[str]) -> None:
        """Print signature lines, kept together on one page."""
        if self.will_page_break(12 * len(lines) + 6):
            self.add_page()
        self.ln(6)
        self.set_font(self.family, size=10.5)
        for line in lines:
            self.cell(w=0, h=10, text=line, new_x="LMARGIN", new_y="NEXT")

    def attest_block(self, results: SessionResults, qr_text: str | None = None) -> None:
        """Print times, both seals and the key fingerprint; with a QR code of them if asked."""
        size = 30.0
        if self.will_page_break(size + 8):
            self.add_page()
        top = self.get_y()
        self.set_font(self.family, size=8.5)
        width = self.epw - (size + 4 if qr_text else 0)
        self.rows_table(
            [[label, value] for label, value in attest_pairs(results)],
            [22, width - 22],
            size=8.5,
            line_height=4.4,
            padding=(0.8, 1.2),
            align=["L", "L"],
            fills=[HEAD_FILL, None],
        )
        bottom = self.get_y()
        if qr_text:
            image = qr_png(qr_text)
            self.image(io.BytesIO(image), x=self.l_margin + self.epw - size, y=top, w=size)
            self.set_y(max(bottom, top + size))
        self.ln(1)

    def signing_block(
        self, results: SessionResults, qr_text: str, note: str, signers: list[str], size: float
    ) -> None:
        """The end of a signed document: the seals with their QR code, a note on checking
        them, and the signature lines beside the square for the official seal."""
        self.attest_block(results, qr_text)
        self.paragraph(note, size=size, colour=GREY)
        self.stamp_area(signers)

    def stamp_area(self, lines: list[str]) -> None:
        """Signature lines beside a square left blank for the official seal (公章)."""
        box = 32.0
        if self.will_page_break(max(box, 9 * len(lines)) + 6):
            self.add_page()
        self.ln(3)
        top = self.get_y()
        self.set_font(self.family, size=10.5)
        for line in lines:
            self.cell(w=self.epw - box - 6, h=9, text=line, new_x="LMARGIN", new_y="NEXT")
        x = self.l_margin + self.epw - box
        self.set_draw_color(*GREY)
        self.rect(x, top, box, box)
        self.set_xy(x, top + box / 2 - 3)
        self.set_text_color(*GREY)
        self.set_font(self.family, size=9)
        self.cell(w=box, h=6, text="（盖章）", align="C")
        self.set_text_color(*INK)
        self.set_draw_color(0, 0, 0)
        self.set_xy(self.l_margin, max(self.get_y(), top + box) + 2)

    def missing_chars(self) -> set[str]:
        """The characters fpdf2 found no glyph for, in any of the document's fonts."""
        return {
            chr(code)
            for font in self.fonts.values()
            for code in getattr(font, "missing_glyphs", ())
        }

    def finish(self) -> bytes:
        """Return the finished PDF."""
        return bytes(self.output())


def render(
    results: SessionResults,
    build: Callable[[Path | None], ResultDocument],
    extra: Iterable[str] = (),
) -> bytes:
    """Build a document with a small font of the characters the session's documents print
    (and those of extra)."""
    return render_with(build, alphabet(results) | {char for text in extra for char in text})


def render_with(build: Callable[[Path | None], ResultDocument], chars: Iterable[str]) -> bytes:
    """Build a document with a cut of the CJK font holding chars.

    A character the document meets outside the cut (a text no template holds) is added and
    the document built again; only if that cannot help, with the whole font. No glyph the
    font has is lost (those it lacks take the fallback font or are printed as code points).
    """
    chars = set(chars)
    document = build(CJK_GLYPHS.font_for(chars))
    # Checked after the output: the last page's footer is only drawn then.
    data = document.finish()
    missing = CJK_GLYPHS.drawable(document.missing_chars())
    if missing:
        document = build(CJK_GLYPHS.font_for(chars | missing))
        data = document.finish()
        if CJK_GLYPHS.drawable(document.missing_chars()):
            data = build(None).finish()
    return data


TEMPLATE_MODULES = ("pdf", "archive", "figures", "vector_charts")


@lru_cache(maxsize=1)
def _template_chars() -> frozenset[str]:
    """Every character of the modules that hold the report texts, and printable ASCII."""
    folder = Path(figures.__file__).parent
    texts = [string.printable]
    for name in TEMPLATE_MODULES:
        source = folder / f"{name}.py"
        if source.exists():
            texts.append(source.read_text(encoding="utf-8"))
    return frozenset(char for text in texts for char in text)


def session_texts(results) -> list[str]:
    """The texts of a session a document may print: names, posts, titles, groups, comments."""
    session = getattr(results, "session", None)
    texts = [getattr(session, "title", ""), getattr(session, "unit", "") or ""]
    for row in getattr(results, "subjects", []):
        texts += [row.spec.name, row.spec.post or "", *row.comments]
    texts += [*getattr(results, "overall_comments", [])]
    tally = getattr(results, "tally", None)
    texts += [group.name for group in getattr(tally, "groups", [])]
    return texts


def alphabet(results: SessionResults) -> set[str]:
    """Return the characters the result documents of a session are likely to print.

    It need not be complete (render() adds what a document meets besides), only nearly so:
    the texts of the session, and every character of the modules that hold the templates.
    """
    session, questionnaire, ruleset = results.session, results.questionnaire, results.ruleset
    texts = [
        session.title,
        session.unit or "",
        session.meeting_type.label,
        session.state.label,
        questionnaire.title,
        *(option.label for option in questionnaire.options),
        *(item.label for item in questionnaire.items),
        ruleset.describe(),
        ruleset.basis,
        # The rule set file itself: every table title, band and team part name it prints.
        ruleset.content.decode("utf-8", "replace"),
        # Sentences the results service writes (validity warnings, participation).
        results.validity.text,
        results.participation_text,
        *(f"{row.spec.name}{row.spec.post}{role_label(row)}{row.band or ''}" for row in
          results.subjects),
        *(group.name for group in results.tally.groups),
    ]  # fmt: skip
    return {char for text in texts for char in text} | _template_chars()


def session_facts(results: SessionResults) -> list[tuple[str, str]]:
    """Return the facts that head every result document of a session."""
    session, questionnaire = results.session, results.questionnaire
    return [
        ("测评名称", session.title),
        ("单位", session.unit or "—"),
        ("测评日期", date_text(results)),
        ("测评类型", session.meeting_type.label),
        ("测评表", f"{questionnaire.title}（版本 {questionnaire.version}）"),
    ]


def session_report(results: SessionResults) -> bytes:
    """Return the 汇报测评 result report: figures, charts, team score, rules, seal, signatures."""
    return render(results, lambda font: report_document(results, font))


def report_document(results: SessionResults, font: Path | None = None) -> ResultDocument:
    """Lay the report out, with the given font file or the whole CJK font."""
    session = results.session
    title = f"{session.meeting_type.label}民主测评结果报告"
    pdf = ResultDocument(results, title, font)
    pdf.add_page()
    pdf.title_block(session.title, title)

    facts = session_facts(results) + [
        *turnout_pairs(results),
        ("参与率", results.participation_text),
        ("有效性", results.validity.text),
        ("状态", session.state.label),
        ("结束时间", beijing_text(session.closed_at)),
        ("签发时间", beijing_text(session.signed_off_at)),
    ]
    if results.groups_shown:
        received = results.tally.received_by_group
        shown = "；".join(f"{name} 收回 {received[name]} 份" for name in results.groups_shown)
        facts.append(("参评人员类别", shown))
    pdf.facts(facts)
    if results.groups_hidden:
        pdf.paragraph(hidden_groups_note(results), size=8.5, colour=GREY)

    number = iter("一二三四五六七八九十")
    pdf.heading(f"{next(number)}、测评结果")
    if results.questionnaire.scored:
        _scored_table(pdf, results)
        pdf.heading(f"{next(number)}、分项得分")
        _items_table(pdf, results)
    else:
        _subjects_table(pdf, results)
        pdf.paragraph(
            "较好以上率 =（好 + 较好）÷ 有效票，弃权不计入有效票；按精确分数对照分档（各档含下限、"
            "不含上限），百分比四舍五入到两位小数，仅供阅读。",
            size=8,
            colour=GREY,
        )
        if any(len(row.items) > 1 for row in results.subjects):
            pdf.heading(f"{next(number)}、分项评价")
            _item_rates_table(pdf, results)
        if results.groups_shown:
            pdf.heading(f"{next(number)}、分类别评价分布")
            _groups_table(pdf, results)
        vector_charts.distribution(pdf, results, f"{next(number)}、评价分布")
        rate_label = results.questionnaire.rate_label
        vector_charts.rates(pdf, results, f"{next(number)}、{rate_label}与分档")
        pdf.heading(f"{next(number)}、领导班子得分")
        _team_section(pdf, results)

    pdf.heading(f"{next(number)}、计分规则")
    _rules_section(pdf, results)

    pdf.heading(f"{next(number)}、封存、签发与校验")
    pdf.signing_block(
        results,
        qr_text(results),
        "结束封存码是测评结束时对全部选票（无记名、随机顺序）、测评表、规则集和测评信息计算的 "
        "SHA-256 摘要；结果封存码是考核组签发时对本报告所列全部数字、时间和结束封存码计算的摘要。"
        "两者均由本平台的 Ed25519 签名密钥签名，公钥随归档文件一并提供，其指纹如上。"
        f"{VERIFY_HINT}。",
        [f"考核组成员：{SIGN_LINE * 2}", f"监票人：{SIGN_LINE}", f"日期：{SIGN_LINE}"],
        size=8.5,
    )
    return pdf


def _subjects_table(pdf: ResultDocument, results: SessionResults) -> None:
    options = option_labels(results)
    head = [
        "序号", "测评对象", "类别", "有效票", *(label for _, label in options), "弃权",
        results.questionnaire.rate_label, "所在分档", "得分或\n扣分", "个人\n得分", "最终\n得分",
    ]  # fmt: skip
    # Headers break between words (explicit \n), never inside one: widths fit the words.
    # 序号, 类别 (主要负责人 on one line), 有效票, the options, 弃权, rate, band, the three scores.
    fixed = [7, 14.5, 9.6, *([9] * len(options)), 9, 17, 19, 10.5, 9.5, 9.5]
    widths = [fixed[0], pdf.epw - sum(fixed), *fixed[1:]]
    rows = []
    for number, row in enumerate(results.subjects, start=1):
        counts = row.counts
        name = f"{row.spec.name}\n{row.spec.post}" if row.spec.post else row.spec.name
        count_cells = (
            [str(counts.valid), *(str(counts.options[key]) for key, _ in options),
             str(counts.abstain)]
            if counts else ["—"] * (len(options) + 2)
        )  # fmt: skip
        rate = rate_percent(row)
        if row.rate is not None:
            rate = f"{rate}\n{rate_fraction(row)}"
        rows.append(
            [
                str(number), name, role_label(row), *count_cells, rate, _band_cell(row),
                points_text(row) or "—", decimal_text(row.personal) or "—",
                decimal_text(row.final) or "—",
            ]
        )  # fmt: skip
    align = ["CENTER", "LEFT", *["CENTER"] * (len(head) - 2)]
    pdf.grid(head, rows, widths, align=align)


def _groups_table(pdf: ResultDocument, results: SessionResults) -> None:
    """The rating distribution per rater group, only for the groups the small-group rule shows."""
    options = option_labels(results)
    rows = []
    for group in results.groups_shown:
        for row in scored_rows(results):
            counts = row.by_group.get(group)
            if counts is None:
                continue
            rate = counts.rate(results.questionnaire)
            good = counts.good_or_better(results.questionnaire)
            rate_cell = "—" if rate is None else f"{percent_text(rate)}\n{good}/{counts.valid}"
            rows.append(
                [
                    group,
                    row.spec.name,
                    str(counts.valid),
                    *(str(counts.options[key]) for key, _ in options),
                    str(counts.abstain),
                    rate_cell,
                ]
            )
    fixed = [22, *([9] * (len(options) + 2)), 20]
    labels = [label for _, label in options]
    pdf.grid(
        ["参评人员类别", "测评对象", "有效票", *labels, "弃权", results.questionnaire.rate_label],
        rows,
        [fixed[0] + 14, pdf.epw - sum(fixed) - 14, *fixed[1:]],
        align=["LEFT", "LEFT", *["CENTER"] * (len(options) + 3)],
    )


def _band_cell(row: SubjectResult) -> str:
    if row.band is None:
        return "—"
    bounds, _, value = row.band.partition(" → ")
    return bounds if value else row.band


def _scored_table(pdf: ResultDocument, results: SessionResults) -> None:
    combined = results.ruleset.combined is not None
    head = ["序号", "测评对象", "类别", "收回", "群众评议（问卷）得分" if combined else "问卷得分"]
    head += ["综合得分", "等次（按综合得分）"] if combined else ["等次"]
    fixed = [8, 16, 12, 22, 22, 30] if combined else [8, 16, 14, 24, 20]
    widths = [fixed[0], pdf.epw - sum(fixed), *fixed[1:]]
    rows = [
        [
            str(number),
            f"{row.spec.name}\n{row.spec.post}" if row.spec.post else row.spec.name,
            role_label(row),
            str(results.received),
            *(
                [average_text(row.score_total) or "—", graded_text(row) or "—"]
                if combined
                else [graded_text(row) or "—"]
            ),
            grade_text(row),
        ]
        for number, row in enumerate(results.subjects, start=1)
    ]
    pdf.grid(head, rows, widths, size=8.5, align=["CENTER", "LEFT", *["CENTER"] * (len(head) - 2)])


def _item_rates_table(pdf: ResultDocument, results: SessionResults) -> None:
    """List every item of every subject with its counts and 较好以上率 (述责, 述廉, 总体)."""
    options = option_labels(results)
    labels = {item.key: item.label for item in results.questionnaire.items}
    rows = []
    for row in results.subjects:
        for key, counts in row.items.items():
            rate = counts.rate(results.questionnaire)
            good = counts.good_or_better(results.questionnaire)
            rows.append(
                [
                    row.spec.name,
                    labels[key],
                    str(counts.valid),
                    *(str(counts.options[option]) for option, _ in options),
                    str(counts.abstain),
                    percent_text(rate) + (f"\n{good}/{counts.valid}" if rate is not None else ""),
                ]
            )
    fixed = [22, 10, *([9] * (len(options) + 1)), 20]
    pdf.grid(
        [
            "测评对象",
            "测评项目",
            "有效票",
            *(label for _, label in options),
            "弃权",
            results.questionnaire.rate_label,
        ],  # fmt: skip
        rows,
        [fixed[0], pdf.epw - sum(fixed), *fixed[1:]],
        align=["LEFT", "LEFT", *["CENTER"] * (len(options) + 3)],
    )


def _items_table(pdf: ResultDocument, results: SessionResults) -> None:
    """List each item's points and the average the ballots gave it, subject by subject."""
    rows = [
        [
            row.spec.name,
            item.label,
            decimal_text(item.points),
            str(row.items[item.key].valid),
            average_text(item.average) or "—",
        ]
        for row in results.subjects
        for item in row.scored
    ]
    pdf.grid(
        ["测评对象", "测评项目", "分值", "有效票", "平均得分"],
        rows,
        [24, pdf.epw - 78, 14, 16, 24],
        size=8,
        align=["LEFT", "LEFT", "CENTER", "CENTER", "CENTER"],
    )
    pdf.paragraph(
        "平均得分 = 各有效票所选等次的折算得分之和 ÷ 有效票，弃权不计入；"
        "问卷得分为各项平均得分之和，按精确值对照考评等次，显示时四舍五入到两位小数。",
        size=8,
        colour=GREY,
    )


def _team_section(pdf: ResultDocument, results: SessionResults) -> None:
    team = next((r for r in scored_rows(results) if r.spec.role == SubjectRole.TEAM), None)
    if team is None:
        pdf.paragraph("本次测评没有领导班子的较好以上率。")
        return
    pdf.paragraph(
        f"领导班子较好以上率 {rate_text(team)}，民主测评得分 {points_text(team) or '—'}。"
    )
    total = results.team_total
    if total is None:
        pdf.paragraph(
            "其他考核部分（查阅资料、日常评定等）尚未录入，暂不计算领导班子总分和最终得分。"
        )
        return
    rows = [
        [
            part.name,
            decimal_text(part.maximum),
            decimal_text(part.entered),
            decimal_text(part.counted),
            "超过满分，按满分计入" if part.capped else "—",
        ]
        for part in total.parts
    ]
    parts = results.ruleset.team_parts
    rows.append(["总分", decimal_text(parts.total), "—", decimal_text(total.total), "—"])
    scaled = decimal_text(parts.scaled_total)
    rows.append([f"换算为{scaled}分制", scaled, "—", decimal_text(total.scaled), "—"])
    pdf.grid(
        ["考核项目", "满分", "录入得分", "计入得分", "说明"],
        rows,
        [60, 22, 24, 24, pdf.epw - 130],
        size=8.5,
        align=["LEFT", "CENTER", "CENTER", "CENTER", "LEFT"],
    )
    if total.capped_parts:
        names = "、".join(part.name for part in total.capped_parts)
        pdf.paragraph(f"注：{names} 录入得分超过该项满分，已按满分计入。", size=8.5, colour=GREY)


def _rules_section(pdf: ResultDocument, results: SessionResults) -> None:
    ruleset = results.ruleset
    facts = [
        ("规则集", ruleset.name),
        ("编号与版本", f"{ruleset.id} 版本 {ruleset.version}"),
        ("SHA-256", ruleset.sha256),
    ]
    if ruleset.basis:
        facts.append(("依据", ruleset.basis))
    pdf.facts(facts)
    pdf.ln(2)
    labelled = [
        (table, result)
        for table, result in (
            (ruleset.team_points, "得分"),
            (ruleset.personal_deduction, "扣分"),
            (ruleset.grades, "等次"),
        )
        if table is not None
    ]
    tables = [table for table, _ in labelled]
    for table, result in labelled:
        pdf.paragraph(table.title, size=9)
        bounds, values = zip(
            *(table.row_text(band).split(" → ") for band in table.bands), strict=True
        )
        measured = "问卷得分" if table.unit == BoundUnit.POINTS else "较好以上率"
        pdf.grid(
            [measured, *bounds],
            [[result, *values]],
            [22, *[(pdf.epw - 22) / len(bounds)] * len(bounds)],
            size=7.5,
        )
        pdf.ln(1)
    # What describe() prints besides the band tables: weights, team parts, group weights.
    shown = {line for table in tables for line in table.describe().splitlines()}
    rest = [line for line in ruleset.describe().splitlines()[2:] if line not in shown]
    if rest:
        pdf.paragraph(chinese_punctuation("\n".join(rest)), size=8.5)
    rated = [row for row in results.subjects if row.band is not None]
    if rated:
        label = results.questionnaire.rate_label
        pdf.paragraph(f"各测评对象{label}所在分档：", size=9.5)
        pdf.grid(
            ["测评对象", label, "分档表", "所在分档"],
            [
                [row.spec.name, rate_text(row), _table_title(results, row), row.band]
                for row in rated
            ],
            [40, 38, 50, pdf.epw - 128],
            size=8,
        )
    elif results.questionnaire.scored:
        graded = [row for row in results.subjects if row.grade]
        if graded:
            lines = [f"{r.spec.name}：{graded_text(r)} → {grade_text(r)}" for r in graded]
            pdf.paragraph("\n".join(lines), size=8.5)


def _table_title(results: SessionResults, row: SubjectResult) -> str:
    table = table_of(results, row)
    return table.title if table is not None else ""
