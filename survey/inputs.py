"""What a request may carry: strict whole numbers, text without control characters, safe `next=`.

Every id, count and number that arrives in a URL, a query string or a form is parsed by
`strict_int` (ASCII digits only, within 1..2**53 unless the caller says otherwise), so that
"²" (which passes `str.isdigit()` but not `int()`), a 5,000-digit number (refused by `int()`
past 4,300 digits) or an id past 2**63 (which the database cannot compare with a BIGINT) is a
plain "not found" or "invalid", never a server error. 2**53 also keeps every id exact in the
JavaScript of a browser.

Control characters are removed from every form and query value before any view sees it:
PostgreSQL refuses NUL in text, and a name of "\\x00" must be refused as the empty name it is.
"""

import re
from urllib.parse import urlsplit

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError
from wtforms import IntegerField

MAX_ID = 2**53
_ASCII_DIGITS = re.compile(r"[0-9]{1,16}", re.ASCII)
# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strict_int(raw, low: int = 1, high: int = MAX_ID) -> int | None:
    """Return raw as an int when it is ASCII digits within [low, high], else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if low <= raw <= high else None
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def without_controls(text: str) -> str:
    return CONTROL.sub("", text)


def has_controls(text: str) -> bool:
    return CONTROL.search(text) is not None


class IdConverter(IntegerConverter):
    """`<id:name>` in routes: a positive id of at most 16 ASCII digits and at most 2**53.

    A subclass of werkzeug's integer converter, so that tools that look for integer parts of
    routes (the access and fuzz tests) find these too.
    """

    regex = r"[0-9]{1,16}"
    weight = 50

    def to_python(self, value: str) -> int:
        number = strict_int(value)
        if number is None:
            raise ValidationError()  # the URL matches no route: 404
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class TextConverter(UnicodeConverter):
    """The default `<name>` part of a route, refusing control characters (404).

    PostgreSQL refuses NUL in text, so `/admin/rulesets/%00/1` would otherwise be a 500.
    """

    def to_python(self, value: str) -> str:
        if has_controls(value):
            raise ValidationError()
        return value


class CleanMultiDict(ImmutableMultiDict):
    """Form and query values with control characters removed (files are left as they are)."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, dict) and not isinstance(mapping, ImmutableMultiDict):
            mapping = list(mapping.items())
        elif hasattr(mapping, "items") and hasattr(mapping, "getlist"):
            mapping = list(mapping.items(multi=True))
        super().__init__(
            (_clean(key), _clean(value))
            for key, value in mapping  # type: ignore[union-attr]
        )


def _clean(value):
    return without_controls(value) if isinstance(value, str) else value


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict


def safe_next(target: str | None) -> str | None:
    """Return target when it is a plain path on this site, else None.

    Refuses absolute and scheme-relative URLs ("//evil", "/\\evil"), any control character
    (CR/LF would split the Location header), and anything that is not printable ASCII after
    the browser's own percent-encoding.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target or has_controls(target):
        return None
    if any(ch in target for ch in "\r\n\t "):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class StrictIntegerField(IntegerField):
    """A form's whole number through strict_int: half-width ASCII digits, 0..2**53."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = strict_int(valuelist[0], 0, MAX_ID)
        if self.data is None:
            # The same Chinese message as a plain IntegerField (wtforms translations).
            raise ValueError(self.gettext("Not a valid integer value."))
