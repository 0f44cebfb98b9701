"""One reader for every rule file (rule sets, checklists, questionnaires): TOML in UTF-8."""

import tomllib
from decimal import Decimal

from .errors import RuleFileError


def read_rule_file(text: str | bytes, source: str) -> tuple[bytes, dict]:
    """Return the file's exact bytes (what its SHA-256 is taken over) and its TOML document.

    A str is taken as its UTF-8 encoding. Every failure is a RuleFileError naming the source.
    """
    content = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    try:
        decoded = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleFileError(source, "文件不是 UTF-8 编码") from None
    try:
        # Decimal keeps TOML decimals exact; a binary float would not equal what was written.
        return content, tomllib.loads(decoded, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(source, f"TOML 语法错误:{exc}") from None
    except ValueError:
        # tomllib raises a bare ValueError for an integer of more than 4,300 digits.
        raise RuleFileError(source, "TOML 中的数字位数过多") from None
    except RecursionError:
        # Uploads are depth-checked first (survey.uploads); this guards every other caller.
        raise RuleFileError(source, "TOML 嵌套层数过多") from None
