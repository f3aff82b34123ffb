"""The LaTeX of bibliography fields: a small known set, everything else is text.

BibTeX fields are LaTeX, and pandoc's citeproc reads them as LaTeX: a title
with ``\\includegraphics{/etc/passwd}`` became an image that pandoc embedded,
``\\url{javascript:...}`` a live link, and ``\\input`` would read a file
(issue 16). Only the commands of :data:`ACCENTS`, :data:`SYMBOLS`,
:data:`TEXT_STYLE` and the escaped characters of :data:`ESCAPES` have their
LaTeX meaning; any other command is shown as the text it is.

- :func:`to_text` turns a field into plain Unicode text (references.csv), in
  one linear pass (pylatexenc took 14.5 s for a 1 MB field, 265 s for 3 MB:
  its tokenizer is quadratic in the length of a field);
- :func:`inert_bibtex` rewrites a .bib text for pandoc so that every unknown
  command is printed, not run (``\\textbackslash{}includegraphics``).
"""

from __future__ import annotations

import re
import unicodedata

# Accent commands and the combining character each puts on the next letter.
ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "d": "\u0323",
    "b": "\u0331",
    "k": "\u0328",
    "r": "\u030a",
    "t": "",
}
# Commands that stand for one character.
SYMBOLS = {
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "textendash": "–",
    "textemdash": "—",
    "ldots": "…",
    "dots": "…",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "textunderscore": "_",
    "textquoteleft": "‘",
    "textquoteright": "’",
    "textquotedblleft": "“",
    "textquotedblright": "”",
}
# Commands whose argument is shown as it is (the style is dropped in the text form).
TEXT_STYLE = frozenset("textit textbf textsc textrm textsf texttt textup textsl textnormal emph mbox".split())
# Escaped characters: \& is "&".
ESCAPES = {"&": "&", "%": "%", "$": "$", "#": "#", "_": "_", "{": "{", "}": "}", " ": " ", ",": " ", "-": ""}
# Dotless i and j take an accent as i and j do (\'{\i} is í).
_DOTLESS = {"ı": "i", "ȷ": "j"}
KNOWN_WORDS = frozenset(ACCENTS) | frozenset(SYMBOLS) | TEXT_STYLE
KNOWN_SYMBOLS = frozenset(c for c in ACCENTS if not c.isalpha()) | frozenset(ESCAPES)

_TOKEN = re.compile(r"\\([A-Za-z]+|.)|\^\^", re.DOTALL)
_LIGATURES = (("---", "—"), ("--", "–"), ("``", "“"), ("''", "”"), ("~", "\u00a0"))


def _known(name: str) -> bool:
    return name in KNOWN_WORDS if name[:1].isalpha() else name in KNOWN_SYMBOLS


def inert_bibtex(text: str) -> str:
    """A .bib text in which every unknown command (and TeX's ^^ character codes) is plain text."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name is None:  # ^^5c is a backslash to TeX
            return r"\textasciicircum{}\textasciicircum{}"
        if _known(name):
            return match.group(0)
        shown = r"\textbackslash{}" if name == "\\" else name
        return r"\textbackslash{}" + shown

    return _TOKEN.sub(replace, text)


def _argument(text: str, pos: int) -> tuple[str, int]:
    """The next argument at ``pos`` (a {group} or one character, spaces skipped): (raw, end)."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text):
        return "", pos
    if text[pos] != "{":
        if text[pos] == "\\":
            match = _TOKEN.match(text, pos)
            return match.group(0), match.end()
        return text[pos], pos + 1
    depth, end = 0, pos
    while end < len(text):
        char = text[end]
        if char == "\\":
            end += 2
            continue
        depth += char == "{"
        depth -= char == "}"
        end += 1
        if depth == 0:
            return text[pos + 1 : end - 1], end
    return text[pos + 1 :], len(text)


def to_text(text: str) -> str:
    """A field's LaTeX as plain Unicode text; braces dropped, unknown commands kept as text."""
    try:
        return _to_text(text)
    except RecursionError:  # commands nested thousands deep: show them as written
        return _plain(text)


def _to_text(text: str) -> str:
    out: list[str] = []
    pos = 0
    length = len(text)
    while pos < length:
        next_command = text.find("\\", pos)
        if next_command < 0:
            out.append(_plain(text[pos:]))
            break
        out.append(_plain(text[pos:next_command]))
        match = _TOKEN.match(text, next_command)
        name = match.group(1) if match else None
        pos = match.end() if match else next_command + 1
        if name is None:
            out.append("\\")
        elif name in ACCENTS:
            argument, pos = _argument(text, pos)
            base = argument if len(argument) == 1 and argument not in "\\{}$" else _to_text(argument)
            base = _DOTLESS.get(base[:1], base[:1]) + base[1:]
            out.append(unicodedata.normalize("NFC", base[:1] + ACCENTS[name] + base[1:]) if base else "")
        elif name in SYMBOLS:
            out.append(SYMBOLS[name])
            if name[:1].isalpha() and pos < length and text[pos] == " ":
                pos += 1  # the space that ends a command word is not text
            if text.startswith("{}", pos):
                pos += 2
        elif name in TEXT_STYLE:
            argument, pos = _argument(text, pos)
            out.append(_to_text(argument))
        elif name in ESCAPES:
            out.append(ESCAPES[name])
        elif name == "\\":
            out.append(" ")  # a line break
        else:
            out.append("\\" + name)  # an unknown command is text
    return "".join(out)


def _plain(text: str) -> str:
    text = text.replace("{", "").replace("}", "").replace("$", "")
    for latex, char in _LIGATURES:
        if latex[0] in text:
            text = text.replace(latex, char)
    return text
