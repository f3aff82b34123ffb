"""``review agreement``: a second coder's files compared with the first coder's (double coding)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.inputs import agreement as agreement_module
from analysis.review.common import printable, project, show_path


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> int:
    paths = project(args)
    second = Path(args.second) if args.second else paths.extracted / agreement_module.SECOND_CODER_FOLDER
    result = agreement_module.compare_folders(paths.extracted, second)
    if not result.second_coder:
        print(
            f"No second coder's files yet: put them in {show_path(second)}/ (same format and "
            "file names as the first coder's, same effect ids), then run `review agreement`."
        )
        return 0
    print(
        f"Double coding: {len(result.studies_both)} study(ies) coded by both coders "
        f"({show_path(paths.extracted)}/ and {show_path(second)}/); "
        f"{len(result.first_only)} by the first coder only, "
        f"{len(result.second_only)} by the second only."
    )
    if result.problems:
        files = sorted({show_path(p.file) for p in result.problems})
        print(f"Left out because they have problems (run `review check`): {', '.join(files)}")
    print()
    print("Agreement on categories (Cohen's kappa: 1 = perfect, 0 = no better than chance):")
    for f in result.fields:
        unit = "studies" if f.unit == "study" else "effects"
        percent = "n/a" if f.percent is None else f"{f.percent:.0f}%"
        words = agreement_module.kappa_words(f.kappa)
        if f.kappa is None:
            words = "nothing to compare" if not f.items else "every rating in one category"
        print(
            f"  {f.field:<8} {f.items:>5} {unit:<8} agree {percent:>5}   kappa {_fmt(f.kappa):>5} ({words})"
        )
    print()
    compared = result.effects
    differing = [c for c in compared if not c.agrees]
    gaps = [abs(c.yi_difference) for c in compared if c.yi_difference is not None]
    largest = f"; largest yi difference {max(gaps):.4g}" if gaps and max(gaps) > 0 else ""
    print(
        f"Effect sizes (on the analysis scale, after reverse): {len(compared)} effect(s) coded "
        f"by both; {len(compared) - len(differing)} identical, {len(differing)} differ{largest}. "
        f"{result.effects_unmatched} effect(s) coded by one coder only."
    )
    print()
    if result.disagreements:
        print(f"To resolve ({len(result.disagreements)}):")
        for item in result.disagreements:
            print(f"  - {printable(str(item))}")
        print("Agree on each, correct the files, and run `review agreement` again.")
    else:
        print("Nothing to resolve: the two coders agree on everything compared.")
    return 0
