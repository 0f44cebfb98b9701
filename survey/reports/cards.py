"""Ballot-code card sheets: A4 pages of eight cards with cut marks, one batch per rater group.

Each card carries the rater group (name and colour band), the session title, a QR code leading
to the code's vote address and the code as text for typing. Every group starts on a new page,
so each group's cards can be cut, shuffled and drawn on their own.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import qrcode
from fpdf import FPDF
from qrcode.constants import ERROR_CORRECT_M

from survey.links import entry_url, vote_url
from survey.reports.fonts import add_cjk_font
from survey.security import display_code

PAGE_W, PAGE_H = 210.0, 297.0
COLUMNS, ROWS = 2, 4
CARDS_PER_PAGE = COLUMNS * ROWS
# Most office printers cannot print the outer 4-5 mm: keep the cards and marks inside.
MARGIN_X, MARGIN_Y = 10.0, 10.0
CARD_W = (PAGE_W - 2 * MARGIN_X) / COLUMNS
CARD_H = (PAGE_H - 2 * MARGIN_Y) / ROWS
INSET = 4.0
BAND_H = 9.0
QR_SIZE = 38.0
MARK_GAP, MARK_LEN = 2.0, 6.0
NO_BREAK = frozenset("，。；：、）》”’！？,.;:)")
NO_END = frozenset("（《“‘(")


@dataclass(frozen=True)
class CardGroup:
    """One rater group's batch: its name, its colour (#rrggbb) and its codes in clear."""

    name: str
    colour: str
    codes: Sequence[str]


def render_cards(title: str, groups: Sequence[CardGroup], base_url: str) -> bytes:
    """Return a PDF of card sheets for the given groups' codes, one batch of pages per group."""
    if not any(group.codes for group in groups):
        raise ValueError("no codes to print")
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(title)
    pdf.set_creator("民主测评平台")
    family = add_cjk_font(pdf)
    for group in groups:
        texts = _texts(pdf, family, title, group.name, entry_url(base_url))
        pages = (len(group.codes) + CARDS_PER_PAGE - 1) // CARDS_PER_PAGE
        for page in range(pages):
            pdf.add_page()
            _cut_marks(pdf)
            _footer(pdf, family, f"{group.name} · 第{page + 1}/{pages}页 · {title}")
            batch = group.codes[page * CARDS_PER_PAGE : (page + 1) * CARDS_PER_PAGE]
            for index, code in enumerate(batch):
                x = MARGIN_X + (index % COLUMNS) * CARD_W
                y = MARGIN_Y + (index // COLUMNS) * CARD_H
                _card(pdf, family, x, y, group.colour, texts, code, base_url)
    return bytes(pdf.output())


INNER_W = CARD_W - 2 * INSET
NAME_W = INNER_W - 20
TEXT_W = INNER_W - QR_SIZE - 3


@dataclass(frozen=True)
class _Texts:
    """The wrapped lines every card of a group shares, measured once."""

    name: str
    title: list[str]
    notes: list[str]


def _texts(pdf: FPDF, family: str, title: str, group_name: str, entry: str) -> _Texts:
    pdf.set_font(family, size=12)
    name = _lines(pdf, group_name, NAME_W, 1)[0]
    pdf.set_font(family, size=9)
    title_lines = _lines(pdf, title, INNER_W, 2)
    pdf.set_font(family, size=7.5)
    phrases = (
        "用手机扫描左侧二维码填写测评表；",
        "也可打开以下网址，输入测评码：",
        entry,
        "一人一码，只能提交一次。",
        "本卡不记名，使用前请妥善保管。",
    )
    notes = [line for phrase in phrases for line in _lines(pdf, phrase, TEXT_W, 2)]
    return _Texts(name, title_lines, notes)


def _card(
    pdf: FPDF,
    family: str,
    x: float,
    y: float,
    colour: str,
    texts: _Texts,
    code: str,
    base_url: str,
) -> None:
    red, green, blue = _rgb(colour)
    pdf.set_fill_color(red, green, blue)
    pdf.rect(x + INSET, y + INSET, INNER_W, BAND_H, style="F")
    pdf.set_text_color(*_ink_on(red, green, blue))
    pdf.set_font(family, size=8)
    pdf.set_xy(x + INSET, y + INSET)
    pdf.cell(w=INNER_W - 2, h=BAND_H, text="测评码卡片", align="R")
    pdf.set_font(family, size=12)
    pdf.set_xy(x + INSET + 2, y + INSET)
    pdf.cell(w=NAME_W, h=BAND_H, text=texts.name)

    pdf.set_text_color(34, 34, 34)
    pdf.set_font(family, size=9)
    for number, line in enumerate(texts.title):
        pdf.set_xy(x + INSET, y + INSET + BAND_H + 1.5 + number * 4.2)
        pdf.cell(w=INNER_W, h=4.2, text=line)

    qr_x, qr_y = x + INSET, y + INSET + BAND_H + 11
    pdf.image(_qr_image(vote_url(code, base_url)), x=qr_x, y=qr_y, w=QR_SIZE, h=QR_SIZE)

    text_x = qr_x + QR_SIZE + 3
    pdf.set_text_color(102, 102, 102)
    pdf.set_font(family, size=8)
    pdf.set_xy(text_x, qr_y + 1)
    pdf.cell(w=TEXT_W, h=4, text="测评码")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(family, size=17)
    pdf.set_xy(text_x, qr_y + 5)
    pdf.cell(w=TEXT_W, h=8, text=display_code(code))
    pdf.set_text_color(51, 51, 51)
    pdf.set_font(family, size=7.5)
    for number, line in enumerate(texts.notes):
        pdf.set_xy(text_x, qr_y + 15 + number * 3.4)
        pdf.cell(w=TEXT_W, h=3.4, text=line)


def _cut_marks(pdf: FPDF) -> None:
    """Draw crop marks in the margins and faint dashed guides along every cut."""
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    xs = [MARGIN_X + i * CARD_W for i in range(COLUMNS + 1)]
    ys = [MARGIN_Y + j * CARD_H for j in range(ROWS + 1)]
    for x in xs:
        pdf.line(x, MARGIN_Y - MARK_GAP - MARK_LEN, x, MARGIN_Y - MARK_GAP)
        pdf.line(x, PAGE_H - MARGIN_Y + MARK_GAP, x, PAGE_H - MARGIN_Y + MARK_GAP + MARK_LEN)
    for y in ys:
        pdf.line(MARGIN_X - MARK_GAP - MARK_LEN, y, MARGIN_X - MARK_GAP, y)
        pdf.line(PAGE_W - MARGIN_X + MARK_GAP, y, PAGE_W - MARGIN_X + MARK_GAP + MARK_LEN, y)
    pdf.set_draw_color(190, 190, 190)
    pdf.set_line_width(0.1)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    for x in xs:
        pdf.line(x, ys[0], x, ys[-1])
    for y in ys:
        pdf.line(xs[0], y, xs[-1], y)
    pdf.set_dash_pattern()


def _footer(pdf: FPDF, family: str, text: str) -> None:
    # Between the crop marks of the first column, so the marks stay clear.
    width = CARD_W - 16
    pdf.set_text_color(120, 120, 120)
    pdf.set_font(family, size=7)
    pdf.set_xy(MARGIN_X + 8, PAGE_H - MARGIN_Y + 2.5)
    pdf.cell(w=width, h=4, text=_lines(pdf, text, width, 1)[0])


def _lines(pdf: FPDF, text: str, width: float, limit: int) -> list[str]:
    """Break text into at most `limit` lines of the given width, with … if it runs over."""
    lines: list[str] = []
    current = ""
    for char in " ".join(text.split()):
        # Closing punctuation never starts a line (it may overhang a little instead).
        if pdf.get_string_width(current + char) > width and current and char not in NO_BREAK:
            # Nor does opening punctuation end one.
            carried = current[-1] if current[-1] in NO_END and len(current) > 1 else ""
            lines.append(current[: len(current) - len(carried)])
            current = carried + char
        else:
            current += char
    lines.append(current)
    if len(lines) > limit:
        last = lines[limit - 1]
        while last and pdf.get_string_width(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: limit - 1], last + "…"]
    return lines


def _qr_image(data: str):
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image()


def _rgb(colour: str) -> tuple[int, int, int]:
    """Parse #rrggbb; anything else prints as the platform's red."""
    value = colour.lstrip("#") if isinstance(colour, str) else ""
    if len(value) != 6:
        value = "c0392b"
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return 0xC0, 0x39, 0x2B


def _ink_on(red: int, green: int, blue: int) -> tuple[int, int, int]:
    """Return black or white, whichever reads better on the band colour."""
    luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
    return (0, 0, 0) if luminance > 0.6 else (255, 255, 255)
