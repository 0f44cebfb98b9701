"""survey.domain must stay pure: standard library and its own modules only."""

import ast
import sys
from pathlib import Path

import survey.domain

DOMAIN_DIR = Path(survey.domain.__file__).resolve().parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Return (level, module) for every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


def test_domain_imports_only_the_standard_library():
    modules = sorted(DOMAIN_DIR.glob("*.py"))
    assert len(modules) >= 5
    offenders = []
    for path in modules:
        for level, module in imported_modules(path):
            if level > 0 or module == "survey.domain" or module.startswith("survey.domain."):
                continue
            if module.split(".")[0] not in sys.stdlib_module_names:
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_the_check_would_catch_a_third_party_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import flask\nfrom sqlalchemy import orm\nfrom . import bands\n", encoding="utf-8"
    )
    assert imported_modules(bad) == [(0, "flask"), (0, "sqlalchemy"), (1, "")]
    assert "flask" not in sys.stdlib_module_names
