"""The `make lint` wrapper around `snakemake --lint` keeps only the lints it names."""

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "lint_workflow", Path(__file__).resolve().parents[2] / "tools" / "lint_workflow.py"
)
lint_workflow = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(lint_workflow)

OUTPUT = """Lints for rule parse_bibliography (line 4, rules/inputs.smk):
    * Specify a conda environment or container for each rule.:
      This way, the used software for each specific step is documented.
    * Param bibliography is a prefix of input or output file but hardcoded:
      If this is meant to represent a file path prefix, it will fail.
Lints for snakefile Snakefile:
    * Mixed rules and functions in same snakefile.:
      Small one-liner functions used only once should be lambdas.
"""


def test_every_lint_is_found_with_where_it_is():
    assert lint_workflow.lints(OUTPUT) == [
        ("parse_bibliography", "Specify a conda environment or container for each rule."),
        ("parse_bibliography", "Param bibliography is a prefix of input or output file but hardcoded"),
        ("Snakefile", "Mixed rules and functions in same snakefile."),
    ]


def test_only_the_named_lints_are_kept():
    kept = [title for _, title in lint_workflow.lints(OUTPUT) if title in lint_workflow.KEPT]
    assert kept == ["Specify a conda environment or container for each rule."]
