"""``review new KEY``: start an extraction file for a study in the bibliography.

The file is generated from ``schemas/extraction.schema.yaml`` and
``extraction.INPUT_FORMS``, so it cannot drift from the codebook: every field
with its description and allowed values, every input form commented out.
"""

from __future__ import annotations

import argparse
import difflib
import textwrap
from pathlib import Path

from analysis.inputs import bibliography, extraction
from analysis.inputs.extraction import FORM_MEASURES, INPUT_FORMS, extraction_schema
from analysis.review import studyfile
from analysis.review.cells import key_problem
from analysis.review.common import ReviewError, printable, project, read_bibliography, show_path

# Fields `review new` writes out even though the schema does not require them:
# nearly every study needs them (they are in the README's example).
TEMPLATE_SHOWN = ("findings", "coder", "outcome_label", "exposure", "quote")
# Fields only the workflow writes.
TEMPLATE_WORKFLOW_ONLY = ("computed",)
COMMENT_WIDTH = 88


def _describe(spec: dict) -> str:
    schema = extraction_schema()
    if "$ref" in spec:
        spec = {**schema["$defs"][spec["$ref"].rsplit("/", 1)[-1]], **spec}
    text = str(spec.get("description", "")).strip()
    if "enum" in spec:
        text += " One of: " + ", ".join(map(str, spec["enum"])) + "."
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    if "enum" in items:
        text += " Any of: " + ", ".join(map(str, items["enum"])) + "."
    if "default" in spec:
        text += f" Default: {spec['default']}."
    return text


def _comment(text: str, indent: str) -> list[str]:
    width = max(40, COMMENT_WIDTH - len(indent) - 2)
    # break_on_hyphens=False: a slug such as report-references is never split across lines
    return [f"{indent}# {line}" for line in textwrap.wrap(printable(text), width, break_on_hyphens=False)]


def _placeholder(spec: dict) -> str:
    if spec.get("type") == "array":
        return " []"
    if "enum" in spec:
        return ""  # left empty: `review check` lists the allowed values
    return ' ""'


def _form_lines(indent: str) -> list[str]:
    """The input forms, commented out, from extraction.INPUT_FORMS and the schema."""
    props = extraction_schema()["$defs"]["effect"]["properties"]
    out = _comment(
        "The numbers: exactly ONE input form. Uncomment the key lines of one form "
        "(delete the '# ' before the key, keeping the indentation) and fill them in "
        "exactly as printed in the source. n (below) is needed with r and t.",
        indent,
    )
    for form, companions in INPUT_FORMS.items():
        keys = [form, *(("vi", "se") if form == "yi" else ()), *companions]
        keys = [k for k in keys if k != "n"]
        label = " + ".join([form, *(["vi or se"] if form == "yi" else []), *companions])
        out.append(f"{indent}#")
        out.append(f"{indent}# --- form: {label}")
        for key in keys:
            spec = props[key]
            text = _describe(spec)
            if key == "measure":
                text = f"{spec['description']} With '{form}': one of {', '.join(FORM_MEASURES[form])}."
            if key == "ci":
                out += _comment(text, indent)
                out.append(f"{indent}# ci: [lower, upper]")
                continue
            if key in ("counts", "groups"):
                subkeys = list(props[key]["properties"])
                out += _comment(text, indent)
                out.append(f"{indent}# {key}: {{{', '.join(f'{k}: ' for k in subkeys)}}}")
                continue
            out += _comment(text, indent)
            out.append(f"{indent}# {key}:")
    out.append(f"{indent}#")
    return out


def template(key: str, reference: bibliography.Reference | None = None) -> str:
    """A new extraction file for ``key``: every field of the codebook, described in comments.

    Generated from ``schemas/extraction.schema.yaml`` and ``extraction.INPUT_FORMS``,
    so it cannot drift from the codebook. Required fields are written with an
    empty value (``review check`` says what each needs); optional ones are
    commented out.
    """
    schema = extraction_schema()
    lines = [f"# Extraction file for {key}."]
    if reference is not None:
        lines += _comment(f"Authors: {reference.get('author', 'unknown')}", "")
        lines += _comment(f"Title: {reference.get('title', 'unknown')}", "")
        lines += _comment(f"Year: {reference.get('year', 'unknown')}", "")
    lines += _comment(
        "Lines starting with '#' are comments and are ignored. Fill in the fields, delete what "
        "you do not need, then run `review check`. Every field is described in "
        "schemas/extraction.schema.yaml (the codebook). Text with ': ' or ' #' in it must be "
        "in quotes.",
        "",
    )
    lines.append("")
    required = set(schema["required"])
    for name, spec in schema["properties"].items():
        if name == "effects":
            continue
        lines += _comment(_describe(spec), "")
        if name == "study":
            lines.append(f"study: {key}")
        elif name in required or name in TEMPLATE_SHOWN:
            lines.append(f"{name}:{_placeholder(spec)}")
        else:
            lines.append(f"# {name}:")
    effect = schema["$defs"]["effect"]
    effect_required = set(effect["required"])
    lines += _comment(
        _describe(schema["properties"]["effects"]) + " Copy the block that starts "
        "with '- id:' once per effect. For a narrative record, delete everything "
        "from 'effects:' on.",
        "",
    )
    lines.append("effects:")
    indent = "    "
    first = True
    forms_written = False
    for name, spec in effect["properties"].items():
        if name in extraction.FORM_KEYS:
            if not forms_written:
                lines += _form_lines(indent)
                forms_written = True
            continue
        if name in TEMPLATE_WORKFLOW_ONLY:
            lines += _comment(_describe(spec) + " Written by the workflow, never by hand.", indent)
            lines.append(f"{indent}# {name}:")
            continue
        prefix = "  - " if first else indent
        if first:
            lines += _comment(_describe(spec), indent)
            lines.append(f"{prefix}{name}:{_placeholder(spec)}")
            first = False
            continue
        lines += _comment(_describe(spec), indent)
        if name in effect_required or name in TEMPLATE_SHOWN:
            lines.append(f"{indent}{name}:{_placeholder(spec)}")
        else:
            lines.append(f"{indent}# {name}:")
    return "\n".join(lines) + "\n"


def existing_file(folder: Path, key: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        if (folder / f"{key}{suffix}").exists():
            return folder / f"{key}{suffix}"
    return None


def run(args: argparse.Namespace) -> int:
    paths = project(args)
    key = args.key
    why = key_problem(key)
    if why:
        raise ReviewError(
            f"{why}.\nFix: use the study's BibTeX key (e.g. rothon2012). If the "
            "BibTeX key itself has other characters, change it in the bibliography "
            "first."
        )
    references = {r.key: r for r in read_bibliography(paths.bibliography)}
    if key not in references:
        close = difflib.get_close_matches(key, list(references), n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ReviewError(
            f"{key} is not in the bibliography ({show_path(paths.bibliography)}).{hint}\n"
            "Fix: add the study's BibTeX entry to the bibliography first (its key is the "
            "study's name everywhere), or correct the key."
        )
    existing = existing_file(paths.extracted, key)
    if existing:
        raise ReviewError(
            f"{show_path(existing)} already exists; nothing was changed.\n"
            "Open it to go on coding, or move it away first to start again."
        )
    target = paths.extracted / f"{key}.yaml"
    try:
        studyfile.write_new_file(target, template(key, references[key]))
    except FileExistsError:
        raise ReviewError(f"{show_path(target)} already exists; nothing was changed.") from None
    ref = references[key]
    print(
        f"Created {show_path(target)} for {printable(ref.get('author', key))[:80]} "
        f"({printable(ref.get('year', 'n.d.'))})."
    )
    print(
        "Next: open it, fill in the fields (the comments say what each one means), then run `review check`."
    )
    return 0
