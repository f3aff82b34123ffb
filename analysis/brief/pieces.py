"""The HTML brief's markdown read to pandoc's JSON AST piece by piece, unchanged pieces reused.

pandoc's markdown reader was ~2 s of the HTML render at 1,000 studies (half of it the pipe
tables), and one new study changes about a third of the page. So the page is cut at its
headers into pieces (:func:`split_pieces`), each piece is read by its own fresh markdown
reader in one ``pandoc lua`` process (report/read_pieces.lua), and each piece's AST is kept
in ``<results>/.cache/brief-pieces/`` under the SHA-256 of the piece, pandoc's version, the
reader script and :data:`FORMAT`. The pieces' blocks, joined, are the AST pandoc's
``--from markdown`` makes of the whole page, because the reader's state that crosses a
header is carried over:

- header identifiers: a piece is read after a prelude of one header per identifier used
  before it (``# x {#id}``, dropped from the result), so an automatic identifier gets the
  same ``-1``, ``-2`` suffix it gets in the whole page. An entry is reused only where the
  earlier identifiers that its own could collide with (:func:`_relevant`) are the same;
- citations' note numbers (``citationNoteNum`` counts citations through the page): each
  piece's are shifted by the count of the pieces before it;
- the YAML metadata: only the first piece may hold it.

What this cannot carry (reference-link and footnote definitions, shortcut references to a
header, example lists, a YAML block after the first, HTML comments) makes
:func:`whole_read_needed` send the page to the whole-page reader, as before. The input text
reaches no path (entries are named by hashes) and no reader reads a file or URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
from pathlib import Path

FORMAT = "brief-pieces 2"
LUA_READER = Path(__file__).resolve().parents[2] / "report" / "read_pieces.lua"

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_DIV_OPEN = re.compile(r" {0,3}:{3,}\s*\S.*")
_DIV_CLOSE = re.compile(r" {0,3}:{3,}\s*")
_HEADER = re.compile(r"#{1,6}(?: .*)?")
_YAML_LINE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_NOTE_NUM = re.compile(r'"citationNoteNum":(\d+)')
_HEADER_ID = re.compile(r'\{"t":"Header","c":\[\d+,\["((?:[^"\\]|\\.)*)"')
_SUFFIX = re.compile(r"(.*)-\d+")
# Lines after the front matter that may open a block a header line does not end (raw HTML or
# LaTeX, a YAML block, a simple or multiline table, a rule), LaTeX macros the whole page sees,
# a citation key in a bracket.
_OPENS_BLOCK = re.compile(r" {0,3}(?:<|\\begin|-{3,}[- \t]*\Z|\.{3}[ \t]*\Z)")
_MACRO = re.compile(r"\\(?:re)?newcommand|\\newenvironment|\\def\b|\\let\b|\\DeclareMathOperator")
_CITE_KEY = re.compile(r"(?:\A|[\s;])-?@")


def _lines(text: str) -> list[str]:
    """``text`` in lines, each with its newline: only a newline ends a line (as for pandoc)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _front_matter_end(lines: list[str]) -> int:
    if not lines or lines[0].rstrip() != "---":
        return 0
    for i in range(1, len(lines)):
        if _YAML_LINE.fullmatch(lines[i].rstrip("\n")):
            return i + 1
    return 0


def split_pieces(text: str) -> list[str]:
    """``text`` cut before each ATX header that follows a blank line outside any code fence
    or fenced div (the YAML front matter stays in the first piece); the pieces join to ``text``."""
    lines = _lines(text)
    start = _front_matter_end(lines)
    pieces, current = [], lines[:start]
    fence, depth, after_blank = "", 0, True
    for line in lines[start:]:
        bare = line.rstrip("\n")
        if fence:
            closing = _FENCE.fullmatch(bare.rstrip())
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = ""
        elif opened := _FENCE.match(bare):
            fence = opened.group(1)
        elif _DIV_CLOSE.fullmatch(bare):
            depth = max(depth - 1, 0)
        elif _DIV_OPEN.fullmatch(bare):
            depth += 1
        elif depth == 0 and after_blank and _HEADER.fullmatch(bare) and current:
            pieces.append("".join(current))
            current = []
        current.append(line)
        after_blank = not bare.strip(" \t")
    pieces.append("".join(current))
    return pieces


def _definition(text: str, start: int, end: int) -> bool:
    """Whether the ``[...]:`` at ``start``..``end`` may define a reference or a note: it starts
    a line and is followed by at most a target and a title (quoted or in parentheses)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest = text[end + 2 : len(text) if line_end < 0 else line_end].split()
    return not text[line_start:start].strip(" ") and (len(rest) < 2 or rest[1][:1] in "\"'(")


# An attribute block ({#id .class key=value key="value"}): its quoted values may hold
# brackets that are text (a figure's alt text naming a sample, "[sample-2]"). Only values
# without quotes, backslashes or line breaks: anything else is scanned as text (and sends
# the page to the whole reader if a bracket in it looks loose).
_ATTRIBUTES = re.compile(
    r'\{(?:[ \t]*(?:[#.][^\s{}"\\]+|[A-Za-z_][\w:.-]*=(?:"[^"\\\n]*"|[^\s{}"\\]+)))+[ \t]*\}'
)


def _loose_bracket(text: str) -> bool:
    """Whether ``text`` has a ``[...]`` that is not a link, span or citation (a shortcut or
    reference link, a note, a definition), an inline note ``^[`` or an example ``(@``;
    attribute blocks are skipped whole."""
    opened: list[int] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{" and (block := _ATTRIBUTES.match(text, i)):
            i = block.end()
            continue
        if c == "[":
            if i and text[i - 1] == "^":
                return True
            opened.append(i)
        elif c == "]" and opened:
            start = opened.pop()
            after = text[i + 1 : i + 2]
            if after == ":" and _definition(text, start, i):
                return True
            if after not in ("(", "{") and not _CITE_KEY.search(text[start + 1 : i]):
                return True
        elif c == "(" and text[i + 1 : i + 2] == "@":
            return True
        i += 1
    return bool(opened)


def whole_read_needed(text: str, pieces: list[str]) -> bool:
    """Whether the page holds markup whose meaning crosses pieces (see the module's text)."""
    if len(pieces) < 2 or "\r" in text or _MACRO.search(text) or _loose_bracket(text):
        return True
    lines = _lines(text)
    previous = ""
    for line in lines[_front_matter_end(lines) :]:
        line = line.rstrip("\n")
        # A line of dashes under a line of text underlines a (setext) header.
        setext = re.fullmatch(r"-+[ \t]*", line) and previous.strip(" \t") and not previous.startswith(" ")
        if _OPENS_BLOCK.match(line) and not setext:
            return True
        previous = line
    return False


def _relevant(used: set[str], ids: list[str]) -> list[str]:
    """The identifiers of ``used`` that reading a piece whose headers got ``ids`` can have
    looked up: each base (an id less any ``-N`` suffixes) and the base with a suffix."""
    bases = set()
    for ident in ids:
        bases.add(ident)
        while found := _SUFFIX.fullmatch(ident):
            ident = found.group(1)
            bases.add(ident)
    return sorted(u for u in used if u in bases or any(u.startswith(b + "-") for b in bases))


def abbreviations(pandoc: str) -> str:
    """The abbreviations file pandoc's command line reads markdown with ("et al." keeps its
    no-break space): the one in pandoc's user data folder, else pandoc's default."""
    said = subprocess.run([pandoc, "--version"], capture_output=True, text=True, check=True).stdout
    prefix = "User data directory: "
    found = [line[len(prefix) :].strip() for line in said.splitlines() if line.startswith(prefix)]
    user = Path(found[0]) / "abbreviations" if found else None
    if user is not None and user.is_file():
        return user.read_text(encoding="utf-8")
    command = [pandoc, "--print-default-data-file=abbreviations"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


class _WholeRead(Exception):
    """The page cannot be read in pieces (pandoc then reads it whole)."""


class _Reader:
    """The ``pandoc lua`` process that reads pieces (report/read_pieces.lua)."""

    def __init__(self, pandoc: str):
        self.abbreviations = abbreviations(pandoc)
        self.process = subprocess.Popen(
            [pandoc, "lua", str(LUA_READER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.version = self.process.stdout.readline().decode("utf-8").strip()
        self._send(self.abbreviations)

    def _send(self, text: str) -> None:
        data = text.encode("utf-8")
        self.process.stdin.write(f"{len(data)}\n".encode("ascii") + data)
        self.process.stdin.flush()

    def read(self, markdown: str) -> dict:
        self._send(markdown)
        size = self.process.stdout.readline()
        if not size.strip().isdigit():
            raise RuntimeError(f"pandoc lua {LUA_READER.name} failed reading a piece of the brief")
        return json.loads(self.process.stdout.read(int(size)))

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def _read_piece(reader: _Reader, piece: str, used: set[str]) -> dict:
    """One piece read after the prelude of ``used``: its entry (ids, seen, notes, meta, blocks)."""
    prelude = "".join(f"# x {{#{ident}}}\n\n" for ident in sorted(used))
    doc = reader.read(prelude + piece)
    head, blocks = doc["blocks"][: len(used)], doc["blocks"][len(used) :]
    if [b["c"][1][0] for b in head if b["t"] == "Header"] != sorted(used):
        raise _WholeRead  # an identifier that `{#...}` cannot carry
    text = json.dumps(blocks, ensure_ascii=False, separators=(",", ":"))[1:-1]
    ids = [json.loads(f'"{m}"') for m in _HEADER_ID.findall(text)]
    notes = [int(m) for m in _NOTE_NUM.findall(text)]
    meta = json.dumps(doc["meta"], ensure_ascii=False, separators=(",", ":"))
    return {
        "api": doc["pandoc-api-version"],
        "ids": ids,
        "seen": _relevant(used, ids),
        "notes": max(notes, default=0),
        "meta": meta,
        "blocks": text,
    }


def _load(path: Path) -> dict | None:
    """A cached piece, or None (a miss) when it is missing or damaged: the head must have
    the fields of :func:`_read_piece` with their types, and the blocks (which go into the
    page's JSON as they are) the sha256 the head records."""
    try:
        head, blocks = path.read_text(encoding="utf-8").split("\n", 1)
        entry = json.loads(head)
        meta = (
            json.loads(entry["meta"])
            if isinstance(entry, dict) and isinstance(entry.get("meta"), str)
            else None
        )
    except (OSError, ValueError):
        return None
    if not (isinstance(entry, dict) and isinstance(meta, dict) and _well_typed(entry)):
        return None
    if entry["sha"] != hashlib.sha256(blocks.encode("utf-8")).hexdigest():
        return None
    return {**entry, "blocks": blocks}


def _well_typed(entry: dict) -> bool:
    def texts(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    api = entry.get("api")
    return (
        isinstance(api, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in api)
        and texts(entry.get("ids"))
        and texts(entry.get("seen"))
        and isinstance(entry.get("notes"), int)
        and not isinstance(entry.get("notes"), bool)
        and isinstance(entry.get("sha"), str)
    )


def _store(path: Path, entry: dict) -> None:
    from analysis.io import write_text_atomic

    head = {k: v for k, v in entry.items() if k != "blocks"}
    head["sha"] = hashlib.sha256(entry["blocks"].encode("utf-8")).hexdigest()
    write_text_atomic(path, json.dumps(head, ensure_ascii=False) + "\n" + entry["blocks"])


def clear(cache: Path) -> None:
    """Remove every cached piece (after pandoc refused an assembled page)."""
    for old in Path(cache).glob("*.piece"):
        old.unlink(missing_ok=True)


def read_markdown_json(text: str, pandoc: str, cache: Path) -> str | None:
    """The pandoc JSON of the markdown ``text`` (what ``pandoc --from markdown --standalone
    --to json`` writes, as data), or None when the page must be read whole."""
    pieces = split_pieces(text)
    if whole_read_needed(text, pieces):
        return None
    cache.mkdir(parents=True, exist_ok=True)
    reader = _Reader(pandoc)
    salt = "\0".join(
        [
            FORMAT,
            reader.version,
            hashlib.sha256(LUA_READER.read_bytes()).hexdigest(),
            reader.abbreviations,
            "",
        ]
    )
    used: set[str] = set()
    entries, kept, read = [], set(), 0
    try:
        for index, piece in enumerate(pieces):
            path = cache / (hashlib.sha256((salt + piece).encode("utf-8")).hexdigest() + ".piece")
            entry = _load(path)
            if entry is None or entry["seen"] != _relevant(used, entry["ids"]):
                entry = _read_piece(reader, piece, used)
                _store(path, entry)
                read += 1
            if index and entry["meta"] != "{}":
                raise _WholeRead  # metadata after the first piece
            entries.append(entry)
            kept.add(path.name)
            used.update(entry["ids"])
    except _WholeRead:
        return None
    finally:
        reader.close()
    for old in cache.glob("*.piece"):
        if old.name not in kept:
            old.unlink(missing_ok=True)
    logging.getLogger(__name__).info(
        "brief.qmd in %d pieces, %d read, %d reused", len(pieces), read, len(pieces) - read
    )
    return _assemble(entries)


def _assemble(entries: list[dict]) -> str:
    blocks, offset = [], 0
    for entry in entries:
        text = entry["blocks"]
        if offset and entry["notes"]:
            text = _NOTE_NUM.sub(lambda m: f'"citationNoteNum":{int(m.group(1)) + offset}', text)
        if text:
            blocks.append(text)
        offset += entry["notes"]
    api = json.dumps(entries[0]["api"], separators=(",", ":"))
    return f'{{"pandoc-api-version":{api},"meta":{entries[0]["meta"]},"blocks":[{",".join(blocks)}]}}'
