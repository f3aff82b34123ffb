"""Filling the template: a strict Jinja environment whose filters escape every text from
the inputs (see analysis.codebook.formats.escape_md) and write citations."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from analysis.brief.common import citable, text
from analysis.codebook.formats import escape_md, yaml_string


def code_span(value: Any) -> str:
    """`text` for identifiers made of safe characters; escaped text otherwise."""
    value = text(value)
    return f"`{value}`" if re.fullmatch(r"[A-Za-z0-9_.:-]+", value) else escape_md(value)


def environment(template_dir: str | Path):
    """Jinja environment: strict, no autoescape, comments as {## ... ##} (pandoc uses {#...})."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        comment_start_string="{##",
        comment_end_string="##}",
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = escape_md
    env.filters["yamlstr"] = yaml_string
    env.filters["code"] = code_span
    env.filters["cite"] = lambda key: f"[@{key}]" if citable(key, None) else escape_md(key)
    env.filters["at"] = lambda key: f"@{key}" if citable(key, None) else escape_md(key)
    env.filters["cap"] = lambda s: str(s)[:1].upper() + str(s)[1:]
    return env


def render_source(template: str | Path, context: Mapping[str, Any]) -> str:
    """Fill the template with the context."""
    import yaml

    template = Path(template)
    context = {"agreement": {"second_coder": False}, **context}  # no double coding given
    env = environment(template.parent)
    env.filters["csl"] = lambda entry: yaml.safe_dump(
        [entry], allow_unicode=True, sort_keys=True, width=1000
    ).rstrip()
    # Citations only for keys of the bibliography; anything else shows as text.
    keys = set(context.get("bib_keys", []))
    env.filters["cite"] = lambda key: f"[@{key}]" if citable(key, keys) else escape_md(key)
    env.filters["at"] = lambda key: f"@{key}" if citable(key, keys) else escape_md(key)

    def cites(many: Iterable[str]) -> str:
        """[@a; @b] for the citable keys, the others as escaped text after them."""
        many = list(many)
        good = [k for k in many if citable(k, keys)]
        rest = [escape_md(k) for k in many if not citable(k, keys)]
        parts = ([f"[{'; '.join('@' + k for k in good)}]"] if good else []) + rest
        return " ".join(parts)

    env.filters["cites"] = cites
    return env.get_template(template.name).render(**context)
