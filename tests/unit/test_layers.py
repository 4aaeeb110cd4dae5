"""The layers, as allow-lists: what each part of ``scheduler/`` may import at all.

``lint-imports`` (run by ``make test``, contracts in ``pyproject.toml``) forbids the arrows that
must not exist; this test states what *may* exist, which import-linter cannot say for
third-party packages: the domain is the standard library plus the iCalendar parsers.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}

ALLOWED = {
    # domain: pure; the iCalendar packages only parse (dateutil.rrule is the rule engine they
    # expand with; the core counts a rule's instances with it before expanding: issue 15)
    "scheduler/core": {"scheduler.core", "scheduler.errors", "icalendar", "recurring_ical_events", "dateutil.rrule"},
    # the ports speak in domain types
    "scheduler/ports.py": {"scheduler.core", "scheduler.errors"},
    "scheduler/errors.py": set(),
    # use cases: domain, ports, errors, each other
    "scheduler/services": {"scheduler.core", "scheduler.ports", "scheduler.errors", "scheduler.services"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import; write the absolute module name")
    return found


def _files(where: str) -> list[Path]:
    target = ROOT / where
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize("where", sorted(ALLOWED))
def test_scheduler_imports_only_what_its_layer_allows(where):
    allowed = ALLOWED[where]
    wrong = []
    for path in _files(where):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in STDLIB and top != "scheduler":
                continue
            if not any(module == a or module.startswith(a + ".") for a in allowed):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not wrong, "imports outside the layer:\n" + "\n".join(wrong)


def test_the_allow_list_sees_every_scheduler_file():
    seen = {p for where in ALLOWED for p in _files(where)}
    assert seen == set((ROOT / "scheduler").rglob("*.py")) - {ROOT / "scheduler/__init__.py"}
