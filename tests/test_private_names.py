"""No module imports another's private names: a ``_name`` is its module's own, and a
``_module`` its package's own (media/_ffmpeg.py serves the media package only)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "animatecli"

# Known offenders, each being removed by the redesign of issue 25; an entry that no longer
# offends fails the test too, so this list only shrinks.
KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path) -> tuple[str, str]:
    """(module, package it belongs to) for a source file."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rsplit(".", 1)[0]


def private_imports(path: Path) -> set[tuple[str, str]]:
    """(importer, what) for each private module or name ``path`` imports from elsewhere."""
    importer, package = module_name(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names = [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for full in names:
            if not full.startswith("animatecli."):
                continue
            parts = full.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:i])  # the module or package it is private to
                    if importer != owner and not importer.startswith(owner + "."):
                        found.add((importer, ".".join(parts[: i + 1])))
                    break
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        found |= private_imports(path)
    assert found - KNOWN == set(), "new imports of private names"
    assert KNOWN - found == set(), "fixed: remove these from KNOWN"
