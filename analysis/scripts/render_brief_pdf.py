"""Rule render_brief_pdf: brief.qmd to brief.pdf (Quarto, or pandoc's Typst writer + typst).

Run by the rule's shell command (``python render_brief_pdf.py --qmd ... --log ...``), not as
a Snakemake script, so that the rule can set glibc's allocator for the process that lays
the brief out (``GLIBC_TUNABLES``, read when a process starts): Typst's layout is the
largest memory of any job, 414 instead of 447-469 MiB at 10,000 studies with freed blocks
handed back (the same PDF bytes), and without Snakemake's script object the process holds
15 MiB less.
"""

import argparse
import logging
import sys
from pathlib import Path

# This checkout's analysis/ first, as Snakemake puts it for its scripts (not another
# checkout's that the environment's editable install points to).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analysis.brief.render import render_pdf  # noqa: E402 (after the path above)
from analysis.brief.software import read_software  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("qmd", "bib", "pdf", "figures", "csl", "prisma", "software", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--epoch", required=True, type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(filename=args.log, level=logging.INFO, force=True)
    figures = Path(args.figures).parent
    used = render_pdf(
        args.qmd,
        args.bib,
        args.pdf,
        epoch=args.epoch,
        figures=figures,
        # typst reads the figures under results_dir: the root must hold them and the .qmd.
        root=figures.parent,
        others=[args.csl, args.prisma],
        renderer=read_software(args.software)["renderer"]["name"],
    )
    logging.info("rendered with %s", used["label"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
