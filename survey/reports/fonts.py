"""The CJK font every PDF and chart embeds: Noto Sans CJK SC from the noto-cjk-sans-otc package.

PDF viewers on an archive machine may have no Chinese font at all, so the font is always
embedded (fpdf2 subsets it); reportlab's built-in CID fonts are not and show blanks.

Embedding the whole font costs about 0.5 s of CPU per document (fpdf2 parses its 65,535
glyphs, then fontTools subsets and recompiles the CFF outlines, running every kept glyph's
charstring). The result documents therefore take their font from CjkGlyphs: once per process
it converts each character's glyph to TrueType outlines (the curves approximated within one
unit of the 1,000-unit em, well below a printer dot), and it builds small TrueType fonts of
exactly the characters a batch of documents prints, which fpdf2 loads and subsets in
milliseconds.
"""

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from hashlib import sha256
from pathlib import Path

import noto_cjk_sans_otc
from fontTools import ttLib
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen

CJK_FAMILY = "NotoSansCJKSC"
# Faces in NotoSansCJK-Regular.ttc: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK.
CJK_COLLECTION_INDEX = 2
# Matplotlib's name for the same face.
CJK_MATPLOTLIB_NAME = "Noto Sans CJK SC"


def cjk_font_path() -> Path:
    """Return the path of the Noto Sans CJK collection file."""
    return Path(noto_cjk_sans_otc.FONT_PATH)


# The name-table entries a cut font carries over: the family (PDF viewers show it), the
# copyright and the SIL Open Font License the font is distributed under.
_KEPT_NAMES = {
    0: "copyright",
    1: "familyName",
    2: "styleName",
    3: "uniqueFontIdentifier",
    4: "fullName",
    5: "version",
    6: "psName",
    13: "licenseDescription",
    14: "licenseInfoURL",
}
# Cut fonts kept per process (about 100 KiB each); a file is rebuilt if asked for again.
_FILES_KEPT = 32
# Cu2Qu's tolerance in font units (the em is 1,000): the outline moves at most 0.01 mm at 10 pt.
_CURVE_TOLERANCE = 1.0


class CjkGlyphs:
    """Noto Sans CJK SC as TrueType glyphs, converted on first use; small fonts built from them.

    Thread-safe (one lock: building a font takes milliseconds once its glyphs are converted).
    A forked worker starts afresh: it must not share the parent's open file or folder.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None

    def _start(self) -> None:
        source = ttLib.TTFont(str(cjk_font_path()), fontNumber=CJK_COLLECTION_INDEX, lazy=True)
        self._source = source
        self._cmap = source.getBestCmap()
        self._outlines = source.getGlyphSet()
        self._metrics = source["hmtx"].metrics
        self._glyphs: dict[str, tuple[object, int, int]] = {}
        self._files: OrderedDict[str, Path] = OrderedDict()
        self._folder = tempfile.TemporaryDirectory(prefix="survey-fonts-")
        self._pid = os.getpid()

    def forget(self) -> None:
        """Drop every converted glyph and built font (benches measure the first document)."""
        with self._lock:
            self._pid = None

    def drawable(self, chars: Iterable[str]) -> set[str]:
        """Return those of chars the font has a glyph for."""
        with self._lock:
            if self._pid != os.getpid():
                self._start()
            return {char for char in chars if ord(char) in self._cmap}

    def font_for(self, chars: Iterable[str]) -> Path:
        """Return a TrueType font file with the glyphs of chars (those the font has)."""
        with self._lock:
            if self._pid != os.getpid():
                self._start()
            codes = sorted({ord(c) for c in chars} & self._cmap.keys())
            key = sha256(",".join(map(str, codes)).encode()).hexdigest()
            path = self._files.get(key)
            if path is not None and path.exists():
                self._files.move_to_end(key)
                return path
            path = Path(self._folder.name) / f"{key[:24]}.ttf"
            self._build(codes, path)
            self._files[key] = path
            while len(self._files) > _FILES_KEPT:
                _, old = self._files.popitem(last=False)
                old.unlink(missing_ok=True)
            return path

    def _glyph(self, name: str) -> tuple[object, int, int]:
        """The glyph as TrueType outlines, with its advance and left side bearing."""
        found = self._glyphs.get(name)
        if found is None:
            pen = TTGlyphPen(None)
            # CFF outlines run the other way round from TrueType's: reverse them.
            self._outlines[name].draw(Cu2QuPen(pen, _CURVE_TOLERANCE, reverse_direction=True))
            glyph = pen.glyph()
            glyph.recalcBounds(None)
            advance = self._metrics[name][0]
            # TrueType rasterisers place the outline by the side bearing: it must be xMin.
            bearing = glyph.xMin if glyph.numberOfContours else 0
            found = self._glyphs[name] = (glyph, advance, bearing)
        return found

    def _build(self, codes: list[int], path: Path) -> None:
        source = self._source
        mapping = {code: self._cmap[code] for code in codes}
        order = [".notdef", *sorted(set(mapping.values()) - {".notdef"})]
        glyphs = {name: self._glyph(name) for name in order}
        head, hhea, os2, post = (source[tag] for tag in ("head", "hhea", "OS/2", "post"))
        builder = FontBuilder(head.unitsPerEm, isTTF=True)
        builder.setupGlyphOrder(order)
        builder.setupCharacterMap(mapping)
        builder.setupGlyf({name: glyph for name, (glyph, _, _) in glyphs.items()})
        builder.setupHorizontalMetrics(
            {name: (advance, bearing) for name, (_, advance, bearing) in glyphs.items()}
        )
        builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
        names = source["name"]
        builder.setupNameTable(
            {
                key: str(record)
                for number, key in _KEPT_NAMES.items()
                if (record := names.getName(number, 3, 1, 0x409)) is not None
            },
            mac=False,
        )
        builder.setupOS2(
            **{
                field: getattr(os2, field)
                for field in (
                    "usWeightClass", "usWidthClass", "fsType", "ySubscriptXSize",
                    "ySubscriptYSize", "ySubscriptXOffset", "ySubscriptYOffset",
                    "ySuperscriptXSize", "ySuperscriptYSize", "ySuperscriptXOffset",
                    "ySuperscriptYOffset", "yStrikeoutSize", "yStrikeoutPosition",
                    "sFamilyClass", "panose", "achVendID", "fsSelection", "sTypoAscender",
                    "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent",
                    "sxHeight", "sCapHeight", "ulCodePageRange1", "ulCodePageRange2",
                )
            }
        )  # fmt: skip
        builder.setupPost(
            keepGlyphNames=False,
            italicAngle=post.italicAngle,
            underlinePosition=post.underlinePosition,
            underlineThickness=post.underlineThickness,
            isFixedPitch=post.isFixedPitch,
        )
        # The source's dates, not today's: the same characters give the same bytes.
        builder.font["head"].created = head.created
        builder.font["head"].modified = head.modified
        builder.font["head"].fontRevision = head.fontRevision
        builder.save(str(path))


CJK_GLYPHS = CjkGlyphs()


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
