"""Study files as the review tool writes them: YAML in the codebook's order, compared by meaning,
written atomically and never over an existing file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from analysis.codebook.columns import resolve
from analysis.inputs.extraction import extraction_schema
from analysis.review.cells import shown


class _Dumper(yaml.SafeDumper):
    """Short lists of numbers or codes on one line (country: [GB], ci: [1.2, 3.4])."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def dump_study(doc: dict, comment: str = "") -> str:
    """YAML text of one study file, fields in the codebook's order."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def ordered(values: dict, order: Iterable[str]) -> dict:
    order = list(order)
    return {k: values[k] for k in sorted(values, key=lambda k: order.index(k) if k in order else len(order))}


def first_difference(old: Any, new: Any, where: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                return f"{where}{key} is in the file but not in the sheet"
            if key not in old:
                return f"{where}{key} is in the sheet but not in the file"
            if old[key] != new[key]:
                return first_difference(old[key], new[key], f"{where}{key}.")
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                label = a.get("id") if isinstance(a, dict) and a.get("id") else index + 1
                return first_difference(a, b, f"{where}{label}.")
    what = where.rstrip(".") or "the content"
    return f"{what}: {shown(str(old), 30)} in the file, {shown(str(new), 30)} in the sheet"


def comparable(value: Any, spec: dict | None = None) -> Any:
    """A parsed file as the analysis reads it: schema defaults filled in, empty fields
    dropped, text on one line, effects in id order.

    Two files that are equal here give the same results; ``review import`` leaves
    such an existing file alone (a release's table writes text on one line and
    spells out defaults such as ``kind: study``).
    """
    schema = extraction_schema()
    spec = resolve(schema, spec if spec is not None else schema)
    if isinstance(value, dict) and "properties" in spec:
        out = {k: v["default"] for k, v in spec["properties"].items() if "default" in v}
        out.update({k: comparable(v, spec["properties"].get(k, {})) for k, v in value.items()})
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}  # empty = absent
    if isinstance(value, list):
        items = [comparable(v, spec.get("items", {})) for v in value]
        if all(isinstance(v, dict) and "id" in v for v in items):  # effects: order is not meaning
            items.sort(key=lambda v: str(v["id"]))
        return items
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to a new file atomically; never replace an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; extraction files are shared
        try:
            os.link(tmp, path)  # atomic, and fails if the file appeared meanwhile
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
