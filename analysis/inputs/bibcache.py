"""The bibliography parsed once per changed entry (issue 14): a cache of each block's parse.

A text is cut into *blocks* where a line starts with ``@`` outside braces (the cut of
:func:`analysis.inputs.bibliography._chunks`, at every entry). The parse of a block (its
references with their fields and line within the block, and the problems of each) depends
on its bytes only, so it is kept under the sha256 of those bytes in
``<results_dir>/.cache/bibliography.json``, with the digest of the parsing code (this
module, bibliography, latex, guards, problem, the bibtexparser and Python versions).
Blocks not in the cache are parsed together, a run of neighbours at a time.

The result is that of parsing the text whole, or no result (the caller parses it whole):
a text with @string macros is never cut, and a text where any block fails to parse or a
key repeats is parsed whole (its problems are those of the whole parse). A damaged or
missing cache is a miss, never an error; the rule check_inputs writes it (with the blocks
of this run only), parse_bibliography only reads it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

VERSION = 1
CACHE = Path(".cache") / "bibliography.json"


def code_digest() -> str:
    """sha256 of what a block's parse depends on besides its bytes."""
    import bibtexparser

    from analysis.codepaths import code_digest as files_digest
    from analysis.inputs import bibliography, guards, latex, problem

    modules = (sys.modules[__name__], bibliography, guards, latex, problem)
    return files_digest([m.__file__ for m in modules], f"{VERSION} {bibtexparser.__version__} {sys.version}")


class BibCache:
    """The cached parses of blocks (``path`` None: nothing is kept). ``write``: :meth:`save`
    rewrites the file with the blocks used in this run."""

    def __init__(self, path: str | Path | None, write: bool = False):
        self.path = Path(path) if path is not None else None
        self.write = write and self.path is not None
        self.code = code_digest()
        self.blocks: dict[str, list] = self._load() if self.path is not None else {}
        self.used: dict[str, list] = {}
        self.parsed = 0  # blocks parsed in this run (not found in the cache)

    def _load(self) -> dict[str, list]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not (isinstance(data, dict) and data.get("version") == VERSION and data.get("code") == self.code):
            return {}
        blocks = data.get("blocks")
        if not isinstance(blocks, dict) or not all(_valid(v) for v in blocks.values()):
            return {}
        return blocks

    def save(self) -> None:
        """Write the blocks used in this run (atomically; only when they changed)."""
        if not self.write or (self.used.keys() == self.blocks.keys() and not self.parsed):
            return
        from analysis.io import write_text_atomic

        record = {"version": VERSION, "code": self.code, "blocks": self.used}
        try:
            write_text_atomic(self.path, json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
        except OSError:
            pass  # a cache that cannot be written only costs time

    def parse(self, text: str, file: str, fields: bool = True):
        """(references, problems) of ``text`` as one parse gives them, or None (parse it whole)."""
        from analysis.inputs import bibliography as bib

        if bib._STRING_BLOCK.search(text):
            return None
        blocks = bib._chunks(text, 1)
        digests = [hashlib.sha256(block.encode("utf-8")).hexdigest() for _, block in blocks]
        if not self._fill(blocks, digests):
            return None
        references, problems, keys = [], [], set()
        for (offset, _), digest in zip(blocks, digests, strict=True):
            value = self.blocks[digest] if digest in self.blocks else self._new[digest]
            self.used[digest] = value
            for key, kind, pairs, line, found in value:
                references.append(
                    bib.Reference(
                        key,
                        sys.intern(kind),
                        tuple((sys.intern(n), v) for n, v in pairs) if fields else (),
                        file,
                        offset + line,
                    )
                )
                problems.extend(bib.BibProblem(file, offset + line, *p) for p in found)
                keys.add(key)
        if len(keys) != len(references):
            return None  # a repeated key: the whole parse reports it
        return references, problems

    def _fill(self, blocks: list[tuple[int, str]], digests: list[str]) -> bool:
        """Parse the blocks not in the cache (runs of neighbours together) into ``_new``;
        False when a block fails to parse (or a key repeats within a run)."""
        from analysis.inputs import bibliography as bib

        self._new: dict[str, list] = {}
        run: list[int] = []
        for index, digest in enumerate([*digests, None]):
            missing = digest is not None and digest not in self.blocks and digest not in self._new
            if missing and len(run) < bib.CHUNK_ENTRIES:
                run.append(index)
                continue
            if run and not self._parse_run([blocks[i] for i in run], [digests[i] for i in run]):
                return False
            run = [index] if missing else []
        return True

    def _parse_run(self, blocks: list[tuple[int, str]], digests: list[str]) -> bool:
        import bibtexparser

        from analysis.inputs import bibliography as bib

        start = blocks[0][0]
        try:
            library = bibtexparser.parse_string("".join(block for _, block in blocks))
            references, failed, problems = bib._parse_library(library, "", 0, True)
        except Exception:  # noqa: BLE001 - whatever the parser does, the whole parse decides
            return False
        if failed:
            return False
        by_line: dict[int, list] = {}
        for problem in problems:
            by_line.setdefault(problem.line, []).append([problem.key, problem.message, problem.fix])
        values: list[list] = [[] for _ in blocks]
        place = 0
        for ref in references:  # in text order: each belongs to the last block starting before it
            line = ref.line - 1 + start
            while place + 1 < len(blocks) and blocks[place + 1][0] <= line:
                place += 1
            entry = [ref.key, ref.entry_type, [list(p) for p in ref.fields], line - blocks[place][0] + 1]
            values[place].append([*entry, by_line.pop(ref.line, [])])
        if by_line:  # a problem not on an entry's line: cannot be placed
            return False
        for digest, value in zip(digests, values, strict=True):
            self._new[digest] = value
            self.parsed += 1
        return True


def _valid(value) -> bool:
    """The shape and types of one block's cached parse, and keys the parser could give
    (anything else: the cache is a miss, never an error)."""
    from analysis.inputs.bibliography import KEY_PATTERN

    def texts(items, size: int) -> bool:
        return isinstance(items, list) and len(items) == size and all(isinstance(v, str) for v in items)

    if not isinstance(value, list):
        return False
    for item in value:
        if not (isinstance(item, list) and len(item) == 5):
            return False
        key, kind, pairs, line, found = item
        if not (isinstance(key, str) and isinstance(kind, str) and type(line) is int and line > 0):
            return False
        if not KEY_PATTERN.fullmatch(key):
            return False
        if not (isinstance(pairs, list) and all(texts(p, 2) for p in pairs)):
            return False
        if not isinstance(found, list):
            return False
        for problem in found:  # [key, message, fix]
            if not (isinstance(problem, list) and len(problem) == 3):
                return False
            if not (isinstance(problem[0], str) or problem[0] is None) or not texts(problem[1:], 2):
                return False
    return True
