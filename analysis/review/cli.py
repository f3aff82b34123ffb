"""The reviewer's command: ``review new | check | import | status | agreement``.

Installed as the console script ``review`` (``.venv/bin/review``). This module
is the command line only: the arguments, and one place that turns every error
into a line for a reviewer. Each command is a module of its own
(analysis.review.new, check, importing, status, agreement) with a ``run(args)``.
Expected problems exit with status 1; anything unexpected prints one short line
and exits with status 2, never a traceback (set ``REVIEW_DEBUG=1`` to see it).

Paths default to the project's ``config/config.yaml`` (``extracted_dir``,
``bibliography``), found from the current folder or any folder above it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from analysis.review import agreement, check, importing, new, sheet, status
from analysis.review.common import ReviewError, printable, show_path

EXAMPLES = """\
examples:
  review new rothon2012          start extracted/rothon2012.yaml from the bibliography entry
  review check                   check the bibliography and every extraction file
  review import effects.csv      turn a spreadsheet (one effect per row) into study files
  review status                  studies by status and theme, evidence gaps, changes since
                                 the last release
  review agreement               compare extracted/second-coder/ with extracted/
"""


def _add_command(
    commands, name: str, help_text: str, description: str, epilog: str = ""
) -> argparse.ArgumentParser:
    """A sub-command with the options every command takes (--extracted, --bibliography)."""
    sub = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument(
        "--extracted",
        metavar="DIR",
        help="folder of extraction files (default: extracted_dir in config/config.yaml)",
    )
    sub.add_argument(
        "--bibliography",
        metavar="PATH",
        help="BibTeX file or folder (default: bibliography in config/config.yaml)",
    )
    return sub


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="review",
        description="Tools for the reviewers of the evidence brief: add, check, import and "
        "compare extraction files.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
        return _add_command(commands, name, help_text, description, epilog)

    new_command = add(
        "new",
        "start an extraction file for a study in the bibliography",
        "Create extracted/KEY.yaml for the bibliography entry KEY, with every field of the "
        "codebook described in comments. Never overwrites a file.",
        "example:\n  review new rothon2012",
    )
    new_command.add_argument("key", metavar="KEY", help="the study's BibTeX key")
    new_command.set_defaults(run=new.run)

    check_command = add(
        "check",
        "check the bibliography and every extraction file",
        "Check the bibliography and every extraction file (and extracted/second-coder/ "
        "if present). Problems are listed by file, each with its fix; warnings are shown "
        "but do not fail. Exit status 1 when there is a problem.",
        "example:\n  review check",
    )
    check_command.set_defaults(run=check.run)

    imp = add(
        "import",
        "turn a spreadsheet (CSV, one effect per row) into study files",
        "Turn a spreadsheet saved as CSV (UTF-8; comma, semicolon or tab separated), one "
        "effect per row, into one extraction file per study. Nothing is written unless the "
        "whole sheet is valid; an existing file is never overwritten (an identical one is "
        "left as it is). Row numbers in messages are the spreadsheet's (the column names "
        "are row 1). Numbers must be plain: 1234 and 0.5, not 1,234, 0,5 or 12%.",
        "columns (any order; names as in the codebook, schemas/extraction.schema.yaml):\n"
        + sheet.column_help()
        + "\n\nstudy-level columns may be repeated on each row of a study or given once;"
        "\na row with no effect column filled is a study without effects (narrative)."
        "\n\nexample:\n  review import coding-sheet.csv",
    )
    imp.add_argument("sheet", metavar="SHEET.csv", help="the spreadsheet, saved as CSV")
    imp.add_argument("--dry-run", action="store_true", help="check the sheet, write nothing")
    imp.set_defaults(run=importing.run)

    status_command = add(
        "status",
        "studies by status and theme, evidence gaps, changes since the last release",
        "Count studies by status and theme, show the evidence gaps (theme x outcome) and "
        "what changed since the last release in releases/.",
        "example:\n  review status",
    )
    status_command.add_argument("--releases", metavar="DIR", help="folder of releases (default: releases)")
    status_command.set_defaults(run=status.run)

    agree = add(
        "agreement",
        "compare a second coder's files with the first coder's",
        "Compare the second coder's files (extracted/second-coder/, same format and file "
        "names; same effect ids) with the first coder's: Cohen's kappa on design, status, "
        "theme, outcome and reverse, each effect's value, and the list of disagreements.",
        "example:\n  review agreement",
    )
    agree.add_argument(
        "--second",
        metavar="DIR",
        help="the second coder's folder (default: <extracted>/second-coder)",
    )
    agree.set_defaults(run=agreement.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ReviewError as err:
        print(str(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The output went to a program that stopped reading (`review status | head`):
        # nothing to tell. Point stdout at /dev/null so the exit flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        where = f" ({show_path(err.filename)})" if err.filename else ""
        print(
            f"review {args.command}: could not read or write a file{where}: "
            f"{err.strerror or err}. Check that it exists and that you may change it.",
            file=sys.stderr,
        )
        return 1
    except Exception as err:  # noqa: BLE001 - a reviewer never sees a traceback
        if os.environ.get("REVIEW_DEBUG"):
            raise
        detail = printable(f"{type(err).__name__}: {err}")[:200]
        print(
            f"review {args.command}: something unexpected went wrong ({detail}). This is a "
            "fault of the review tool, not of your files; please report it with the command "
            "you ran.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
