"""The layers point inward, and nothing imports in a circle.

    web, cli  ->  services  ->  models  ->  domain
         \\            reports (take results, never query)  ->  domain

Every import counts, at module level or inside a function: a lazy import is still a
dependency, it only hides the cycle until run time.
"""

import ast
from pathlib import Path

import survey

PACKAGE = Path(survey.__file__).resolve().parent

# What each layer must never import. A layer is the first part after `survey.`.
FORBIDDEN = {
    "domain": {"web", "cli", "services", "reports", "models", "extensions"},
    "models": {"web", "cli", "services", "reports"},
    "services": {"web", "cli", "reports"},
    "reports": {"web", "cli", "services", "models", "extensions"},
    "web": {"cli"},
}


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Map every module of the package to the package modules it imports."""
    files = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in files else node.module)
        # The root package is the composition root (create_app): importing it is not a layer
        # dependency, and every submodule imports it implicitly anyway.
        graph[name] = {t for t in targets if t in files and t != name and t != "survey"}
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if layer(target) in FORBIDDEN.get(layer(source), ())
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# Reports still read the SessionResults/SeasonOverview types from services: being moved.
KNOWN = {
    ("survey.reports.archive", "survey.services.results"),
    ("survey.reports.charts", "survey.services.results"),
    ("survey.reports.figures", "survey.services.results"),
    ("survey.reports.pdf", "survey.services.results"),
    ("survey.reports.season", "survey.services.seasons"),
    ("survey.reports.xlsx", "survey.services.results"),
    ("survey.services.exports", "survey.reports.archive"),
    ("survey.services.exports", "survey.reports.pdf"),
    ("survey.services.exports", "survey.reports.xlsx"),
}


def test_no_layer_imports_outward():
    assert sorted(violations(import_graph()) - KNOWN) == []


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_checks_catch_a_cycle_and_an_outward_import(tmp_path):
    root = tmp_path / "survey"
    (root / "services").mkdir(parents=True)
    (root / "reports").mkdir()
    (root / "__init__.py").write_text("")
    (root / "services" / "__init__.py").write_text("")
    (root / "reports" / "__init__.py").write_text("")
    (root / "services" / "a.py").write_text("def f():\n    from survey.reports.b import g\n")
    (root / "reports" / "b.py").write_text("from survey.services.a import f\n")
    graph = import_graph(root)
    assert graph["survey.services.a"] == {"survey.reports.b"}
    assert violations(graph) == {
        ("survey.services.a", "survey.reports.b"),
        ("survey.reports.b", "survey.services.a"),
    }
    assert cycles(graph) == [["survey.reports.b", "survey.services.a"]]
