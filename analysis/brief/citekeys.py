"""Give pandoc's citeproc only the bibliography entries the brief can cite.

citeproc parses every entry of the bibliography it is given, though it lists only the
works cited. The brief cites fewer than the whole bibliography (at 10,000 studies 1,405 of
10,000 entries), so the render gives pandoc a copy that holds only the entries whose key
appears after an ``@`` in the ``.qmd`` (at 10,000 studies 40 MiB less for the HTML render).

The copy errs on the side of keeping: a key is kept when it matches case-insensitively,
every ``@string`` and ``@preamble`` is kept, and so is every entry a kept entry names in
``crossref`` or ``xdata``; when the file cannot be split into entries (unbalanced braces)
the whole bibliography is given. The reference list is the same either way: citeproc lists
exactly the works cited.
"""

from __future__ import annotations

import re

# A citation as pandoc reads it: @ then a key that starts with a letter, digit or _ and
# may hold punctuation between word characters; or @{any key}.
_CITATION = re.compile(r"@(?:\{([^{}]+)\}|(\w(?:\w|[:.#$%&+?<>~/-](?=\w))*))")
_START = re.compile(r"@\s*(\w+)\s*([{(])")
_BRACES = re.compile(r"[{}]")
_BRACKETS = re.compile(r"[{}()]")
_PARENT = re.compile(r"\b(?:crossref|xdata)\s*=\s*[{\"]([^{}\"]+)[}\"]", re.IGNORECASE)


def cited_keys(markdown: str) -> set[str]:
    """Every key cited in ``markdown`` (and perhaps a few words that are not keys), lower case."""
    return {(a or b).strip().lower() for a, b in _CITATION.findall(markdown)}


def _blocks(bib: str) -> list[tuple[str, str, str]] | None:
    """(entry type lower case, key lower case, text) of each @-block; None when the braces
    do not balance. Text between blocks is a comment in BibTeX and is left out."""
    out, at = [], 0
    while (found := _START.search(bib, at)) is not None:
        depth, i = 1, None
        for sign in (_BRACES if found.group(2) == "{" else _BRACKETS).finditer(bib, found.end()):
            depth += 1 if sign.group() in "{(" else -1
            if not depth:
                i = sign.end()
                break
        if i is None:
            return None
        body = bib[found.end() : i - 1]
        out.append((found.group(1).lower(), body.split(",", 1)[0].strip().lower(), bib[found.start() : i]))
        at = i
    return out


def cited_bibliography(bib: str, markdown: str) -> str:
    """The entries of BibTeX text ``bib`` that ``markdown`` cites (see the module's doc)."""
    blocks = _blocks(bib)
    if blocks is None:
        return bib
    keys = cited_keys(markdown)
    entries = {key: text for kind, key, text in blocks if kind not in ("string", "preamble", "comment")}
    wanted = [k for k in keys if k in entries]
    while wanted:
        key = wanted.pop()
        for parent in _PARENT.findall(entries[key]):
            parent = parent.strip().lower()
            if parent in entries and parent not in keys:
                keys.add(parent)
                wanted.append(parent)
    kept = [
        text
        for kind, key, text in blocks
        if kind in ("string", "preamble") or (kind != "comment" and key in keys)
    ]
    return "\n".join(kept) + "\n"
