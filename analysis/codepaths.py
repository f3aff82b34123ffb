"""Which analysis/ files a script runs: the rule's `code` input.

Snakemake tracks a rule's `script:` file but not the modules it imports, so
every rule names them as an input. The list is read from the import graph
(``ast``, no import is executed), so it cannot drift from the code.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "analysis"


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of an ``analysis`` module or package, or None when it is not ours."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts)
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


# Statement fields that hold nested statements: imports are statements, so the walk
# never needs to enter an expression (a full ast.walk visits ten times the nodes).
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(nodes: list[ast.AST]):
    """Every statement in ``nodes`` and in the blocks nested inside them."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        for name in _BODIES:
            todo.extend(getattr(node, name, ()) or ())


def _imported(tree: ast.Module) -> list[str]:
    """Dotted names imported anywhere in a module (also inside functions)."""
    names: list[str] = []
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


# One parse per file and process: every rule's script shares most of its modules.
_IMPORTS: dict[tuple[Path, int, int], list[str]] = {}


def _imports_of(path: Path) -> list[str]:
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _IMPORTS:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        _IMPORTS[key] = _imported(tree)
    return _IMPORTS[key]


def _parents(root: Path, dotted: str) -> list[Path]:
    """The __init__.py of every package on the way to a module (Python runs them)."""
    parts = dotted.split(".")
    found = []
    for i in range(1, len(parts)):
        init = root.joinpath(*parts[:i], "__init__.py")
        if init.is_file():
            found.append(init)
    return found


def imported_files(root: str | Path, script: str | Path) -> list[str]:
    """Every analysis/ file that ``script`` imports, directly or not, sorted.

    Parameters
    ----------
    root : the repository root (the folder holding ``analysis/``).
    script : a Python file, usually ``analysis/scripts/<rule>.py``.
    """
    root = Path(root)
    seen: set[Path] = set()
    todo = [Path(script)]
    while todo:
        path = todo.pop()
        for dotted in _imports_of(path):
            found = _module_file(root, dotted)
            if found is None:
                continue
            for new in [found, *_parents(root, dotted)]:
                if new not in seen:
                    seen.add(new)
                    todo.append(new)
    seen.discard(Path(script))
    return sorted(str(p) for p in seen)


def code_digest(paths: Iterable[str | Path], salt: str = "") -> str:
    """sha256 of ``salt`` and the code files (each file's name and bytes, in sorted path
    order): the part of a cache key that says which code computed an entry."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for path in sorted(str(p) for p in paths):
        data = Path(path).read_bytes()
        digest.update(Path(path).name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()
