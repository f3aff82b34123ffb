"""The import rule of ARCHITECTURE.md: stages import only earlier stages.

Read from the source (ast), so a new import that points forwards fails here
before it tangles the pipeline.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "analysis"

# Each stage may import itself and the stages before it, never one after it.
STAGES = (
    ("codebook", "io", "provenance", "codepaths", "versions", "uptodate"),  # shared utilities
    ("inputs", "atlas"),  # stage 1: reviewers' inputs; the Atlas reanalysis
    ("pooling",),  # stage 2: the statistics
    ("rating",),  # stage 3: certainty and verdicts
    ("figures",),  # stage 4: figures
    ("brief",),  # stage 5: the brief
    ("release",),  # releases (reads results)
    ("review",),  # the reviewer's command
)
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def _stage(module: str) -> str:
    """'analysis.pooling.meta' -> 'pooling'; 'analysis.io' -> 'io'."""
    return module.split(".")[1]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("analysis.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "analysis":
                found += [f"analysis.{a.name}" for a in node.names]
            elif node.module.startswith("analysis."):
                found.append(node.module)
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[1] in ("scripts", "__init__.py"):
            continue
        yield rel, ".".join(rel.with_suffix("").parts)


def test_every_package_has_a_stage():
    names = {rel.parts[1].removesuffix(".py") for rel, _ in _modules()}
    assert names <= set(RANK), f"add the new package to STAGES: {sorted(names - set(RANK))}"


@pytest.mark.parametrize("rel,module", list(_modules()), ids=lambda x: str(x))
def test_imports_point_backwards(rel, module):
    own = RANK[_stage(module)]
    forward = [m for m in _imports(ROOT / rel) if RANK.get(_stage(m), -1) > own]
    assert not forward, f"{rel} imports a later stage: {forward} (see ARCHITECTURE.md)"


def test_a_forward_import_is_seen(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("def f():\n    from analysis.brief import context\n    import analysis.review.cli\n")
    assert _imports(path) == ["analysis.brief", "analysis.review.cli"]
