"""The CJK font every PDF and chart embeds: Noto Sans CJK SC from the noto-cjk-sans-otc package.

PDF viewers on an archive machine may have no Chinese font at all, so the font is always
embedded (fpdf2 subsets it); reportlab's built-in CID fonts are not and show blanks.
"""

from pathlib import Path

import noto_cjk_sans_otc

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
