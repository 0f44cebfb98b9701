"""The CJK font every PDF and chart embeds: Noto Sans CJK SC from the noto-cjk-sans-otc package.

PDF viewers on an archive machine may have no Chinese font at all, so the font is always
embedded (fpdf2 subsets it); reportlab's built-in CID fonts are not and show blanks.
"""

from functools import lru_cache
from pathlib import Path

import noto_cjk_sans_otc
from fontTools import ttLib

CJK_FAMILY = "NotoSansCJKSC"
# Faces in NotoSansCJK-Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK.
CJK_COLLECTION_INDEX = 2
# Matplotlib's name for the same face.
CJK_MATPLOTLIB_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Return the path of the Noto Sans CJK collection file."""
    return Path(noto_cjk_sans_otc.FONT_PATH)


def add_cjk_font(pdf) -> str:
    """Register the simplified-Chinese face with an fpdf2 document and return its family name."""
    # Regular weight only: headings are set larger, never bold (bold would raise in fpdf2).
    pdf.add_font(
        CJK_FAMILY,
        style="",
        fname=str(cjk_font_path()),
        collection_font_number=CJK_COLLECTION_INDEX,
    )
    return CJK_FAMILY


# Noto Sans CJK has no glyph beyond the BMP's CJK blocks: a name with 𠀀 (U+20000, Extension B)
# or 𬍤 (U+2C364, Extension E) would be dropped by fpdf2 with only a Python warning. Hanazono
# Mincho (Debian fonts-hanazono, free licence) covers Extensions B–F; it is embedded only in
# the documents that need it, so the common case pays nothing.
FALLBACK_FONTS = (
    ("HanaMinB", Path("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf")),
    ("HanaMinA", Path("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf")),
)
FALLBACK_MATPLOTLIB_NAMES = ("HanaMinB", "HanaMinA")


@lru_cache(maxsize=1)
def _cjk_cmap() -> frozenset[int]:
    font = ttLib.TTFont(str(cjk_font_path()), fontNumber=CJK_COLLECTION_INDEX, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


@lru_cache(maxsize=4)
def _cmap_of(path: str) -> frozenset[int]:
    font = ttLib.TTFont(path, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def uncovered(texts) -> set[str]:
    """Return the printable characters of texts the main CJK font cannot draw."""
    cmap = _cjk_cmap()
    return {
        char
        for text in texts
        for char in text
        if ord(char) > 0x7F and ord(char) not in cmap and char.isprintable()
    }


def fallback_fonts_for(chars: set[str]) -> tuple[list[tuple[str, Path]], set[str]]:
    """Return the fallback fonts that draw chars, and the characters no font has."""
    if not chars:
        return [], set()
    chosen, left = [], {ord(c) for c in chars}
    for family, path in FALLBACK_FONTS:
        if not left or not path.exists():
            continue
        covered = left & _cmap_of(str(path))
        if covered:
            chosen.append((family, path))
            left -= covered
    return chosen, {chr(c) for c in left}


def stand_in(char: str) -> str:
    """What a character no font has is printed as: its code point, visibly, never nothing."""
    return f"〔U+{ord(char):04X}〕"


def add_fallback_fonts(pdf, texts) -> set[str]:
    """Register with an fpdf2 document the fallback fonts its texts need.

    Return the characters no font can draw; the document prints them as stand_in().
    """
    chosen, lacking = fallback_fonts_for(uncovered(texts))
    for family, path in chosen:
        pdf.add_font(family, style="", fname=str(path))
    if chosen:
        pdf.set_fallback_fonts([family for family, _ in chosen], exact_match=False)
    return lacking
