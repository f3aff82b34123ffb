"""`make lint`'s Snakemake step: `snakemake --lint`, failing on every lint but the kept ones.

Snakemake exits 1 on any lint. One kind is kept on purpose and listed here
with the reason; any other lint, or a lint run that fails, fails `make lint`.
"""

from __future__ import annotations

import re
import subprocess
import sys

# Why each kept lint is kept (the title as Snakemake prints it, without the colon).
KEPT = {
    "Specify a conda environment or container for each rule.": (
        "the pinned .venv (requirements.lock) is every rule's environment"
    ),
}
_RULE = re.compile(r"Lints for (?:rule (?P<rule>\S+)|snakefile (?P<file>[^\s:]+))")
_LINT = re.compile(r"    \* (?P<title>.+?):?")


def lints(text: str) -> list[tuple[str, str]]:
    """Every lint in `snakemake --lint` output, as (rule or file, title)."""
    where, found = "?", []
    for line in text.splitlines():
        head = _RULE.match(line)
        if head:
            where = head.group("rule") or head.group("file")
            continue
        lint = _LINT.fullmatch(line)
        if lint:
            found.append((where, lint.group("title")))
    return found


def main(argv: list[str]) -> int:
    run = subprocess.run([*argv, "--lint"], capture_output=True, text=True)
    text = run.stdout + run.stderr
    found = lints(text)
    bad = [f"{where}: {title}" for where, title in found if title not in KEPT]
    if run.returncode not in (0, 1) or (run.returncode == 1 and "Lints for" not in text):
        print(text, file=sys.stderr)
        print("snakemake --lint failed (see above).", file=sys.stderr)
        return 1
    for line in bad:
        print(f"lint: {line}", file=sys.stderr)
    kept = len(found) - len(bad)
    print(f"snakemake --lint: {len(bad)} lint(s) to fix, {kept} kept ({'; '.join(KEPT.values())}).")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [".venv/bin/snakemake"]))
