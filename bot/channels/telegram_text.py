"""Measure Telegram-HTML text and split long messages into parts that each fit Telegram's limit."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["TELEGRAM_LIMIT", "plain_text", "split_message", "visible_length"]

TELEGRAM_LIMIT = 4096
"""Telegram's maximum message length, in UTF-16 code units of the text after entity parsing."""

_CHAR, _OPEN, _CLOSE, _VOID = range(4)

_TOKEN = re.compile(
    r"""(?P<tag><(?P<close>/)?(?P<name>[a-zA-Z][a-zA-Z0-9-]*)"""
    r"""(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*)>)"""
    r"|(?P<entity>&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);)"
)
# Spaces that deliberately glue words together: never a break, never trimmed.
_NO_BREAK = frozenset("\u00a0\u2007\u202f\u2060\ufeff")
_SENTENCE_END = frozenset(".!?…")
_CLOSERS = frozenset("\"')]»”’")
_ZWJ = "\u200d"


@dataclass(frozen=True, slots=True)
class _Atom:
    """One indivisible piece of the source: a visible character (literal or entity) or a tag."""

    kind: int
    raw: str  # the source text, emitted as is
    text: str  # the decoded character for _CHAR, the lower-cased tag name otherwise
    width: int = 0  # UTF-16 code units of ``text`` for _CHAR, 0 for tags


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _char(raw: str, text: str) -> _Atom:
    return _Atom(_CHAR, raw, text, _utf16_len(text))


def _tokenize(source: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    pos = 0
    for match in _TOKEN.finditer(source):
        atoms.extend(_char(c, c) for c in source[pos : match.start()])
        raw = match.group(0)
        if match.group("entity"):
            atoms.append(_char(raw, html.unescape(raw)))
        else:
            name = match.group("name").lower()
            if match.group("close"):
                kind = _CLOSE
            elif match.group("attrs").rstrip().endswith("/"):
                kind = _VOID
            else:
                kind = _OPEN
            atoms.append(_Atom(kind, raw, name))
        pos = match.end()
    atoms.extend(_char(c, c) for c in source[pos:])
    return atoms


def _is_space(char: str) -> bool:
    return char.isspace() and char not in _NO_BREAK


def plain_text(html_text: str) -> str:
    """The visible text of Telegram-HTML: tags removed and entities decoded."""
    return "".join(atom.text for atom in _tokenize(html_text) if atom.kind == _CHAR)


def visible_length(html_text: str) -> int:
    """Length of the visible text in UTF-16 code units, as Telegram counts it."""
    return sum(atom.width for atom in _tokenize(html_text))


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram-HTML ``text`` into valid parts of at most ``limit`` visible UTF-16 units.

    A text that fits comes back unchanged as the only part; a blank text gives no parts. Cuts
    prefer a blank line, then a line break, then a sentence end, then a space; a word is cut only
    when it alone exceeds ``limit``. Tags open at a cut are closed and reopened in the next part.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2 (one surrogate pair), got {limit}")
    atoms = _tokenize(text)
    if not any(atom.kind == _CHAR and not _is_space(atom.text) for atom in atoms):
        return []
    if sum(atom.width for atom in atoms) <= limit:
        return [text]

    dropped = [False] * len(atoms)
    stack: list[tuple[str, str]] = []  # (name, raw start tag) of the elements open at ``start``
    parts: list[str] = []
    start = 0
    while start < len(atoms):
        if not _trim_leading(atoms, dropped, start, stack):
            break
        window = _window_end(atoms, dropped, start, limit)
        if window >= len(atoms):
            end = len(atoms)
        else:
            brk = _best_break(atoms, dropped, start, window)
            end = brk if brk is not None else _hard_cut(atoms, dropped, start, window)
        end = max(end, start + 1)
        part = _render(atoms, dropped, start, end, stack)
        if part:
            parts.append(part)
        start = end
    return parts


def _trim_leading(
    atoms: list[_Atom], dropped: list[bool], start: int, stack: list[tuple[str, str]]
) -> bool:
    """Drop the whitespace a part would start with; False if nothing visible is left at all.

    Inside ``<pre>`` the indentation after the last dropped line break is kept.
    """
    names = [name for name, _ in stack]
    spaces: list[int] = []
    for index in range(start, len(atoms)):
        atom = atoms[index]
        if atom.kind == _OPEN:
            names.append(atom.text)
        elif atom.kind == _CLOSE and atom.text in names:
            del names[len(names) - 1 - names[::-1].index(atom.text) :]
        elif atom.kind == _CHAR and not dropped[index]:
            if not _is_space(atom.text):
                keep_from = len(spaces)
                if "pre" in names:
                    breaks = [n for n, i in enumerate(spaces) if atoms[i].text == "\n"]
                    if breaks:
                        keep_from = breaks[-1] + 1
                for i in spaces[:keep_from]:
                    dropped[i] = True
                return True
            spaces.append(index)
    return False


def _window_end(atoms: list[_Atom], dropped: list[bool], start: int, limit: int) -> int:
    """Index of the first visible character past ``limit`` (or ``len(atoms)`` if all fit)."""
    used = 0
    for index in range(start, len(atoms)):
        atom = atoms[index]
        if atom.kind == _CHAR and not dropped[index]:
            if used + atom.width > limit:
                return index
            used += atom.width
    return len(atoms)


def _best_break(atoms: list[_Atom], dropped: list[bool], start: int, window: int) -> int | None:
    """Start of the best whitespace run to cut at, within the window and after some content."""
    best: tuple[int, int] | None = None  # (rank, index); lower rank is better
    content = False
    previous = ""
    for index in range(start, min(window, len(atoms) - 1) + 1):
        atom = atoms[index]
        if atom.kind != _CHAR or dropped[index]:
            continue
        if not _is_space(atom.text):
            content = True
        elif content and not _is_space(previous):
            rank = _break_rank(atoms, dropped, index)
            if best is None or rank <= best[0]:
                best = (rank, index)
        previous = atom.text
    return None if best is None else best[1]


def _break_rank(atoms: list[_Atom], dropped: list[bool], run_start: int) -> int:
    """0 paragraph, 1 line break, 2 sentence end, 3 plain space, for the run at ``run_start``."""
    newlines = 0
    for index in range(run_start, len(atoms)):
        atom = atoms[index]
        if atom.kind != _CHAR or dropped[index]:
            continue
        if not _is_space(atom.text):
            break
        newlines += atom.text == "\n"
        if newlines >= 2:
            return 0
    if newlines:
        return 1
    for index in range(run_start - 1, -1, -1):
        atom = atoms[index]
        if atom.kind != _CHAR or dropped[index] or atom.text in _CLOSERS:
            continue
        return 2 if atom.text in _SENTENCE_END else 3
    return 3


def _hard_cut(atoms: list[_Atom], dropped: list[bool], start: int, window: int) -> int:
    """Cut a word too long for one part at the window, backing off to a grapheme boundary."""
    chars = [i for i in range(start, window) if atoms[i].kind == _CHAR and not dropped[i]]
    chars.append(window)
    texts = [atoms[i].text for i in chars]
    for kept in range(len(chars) - 1, 0, -1):
        if not _glued(texts, kept):
            return chars[kept]
    return window


def _glued(texts: list[str], at: int) -> bool:
    """Whether ``texts[at]`` continues the grapheme cluster that ``texts[at - 1]`` ends."""
    last, after = texts[at - 1], texts[at]
    if last == _ZWJ or after == _ZWJ:
        return True
    if unicodedata.category(after).startswith("M"):  # combining marks, variation selectors
        return True
    if "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return True  # emoji skin-tone modifiers and tag sequences (subdivision flags)
    if _regional(after) and _regional(last):  # flags pair regional indicators
        run = 0
        for char in reversed(texts[:at]):
            if not _regional(char):
                break
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _render(
    atoms: list[_Atom],
    dropped: list[bool],
    start: int,
    end: int,
    stack: list[tuple[str, str]],
) -> str:
    """Markup for ``atoms[start:end]``: reopen ``stack``, close what is open at the end.

    ``stack`` is updated to the elements open at ``end``. Trailing whitespace is trimmed and
    elements left empty by the cut are dropped; returns "" if nothing visible remains.
    """
    last = None
    for index in range(end - 1, start - 1, -1):
        atom = atoms[index]
        if atom.kind == _CHAR and not dropped[index] and not _is_space(atom.text):
            last = index
            break

    out: list[tuple[int, str, str]] = []  # (kind, name, raw)

    def close(name: str) -> None:
        if out and out[-1][0] == _OPEN and out[-1][1] == name:
            out.pop()  # an element with nothing in it
        else:
            out.append((_CLOSE, name, f"</{name}>"))

    out.extend((_OPEN, name, raw) for name, raw in stack)
    for index in range(start, end):
        atom = atoms[index]
        if atom.kind == _CHAR:
            if not dropped[index] and last is not None and index <= last:
                out.append((_CHAR, "", atom.raw))
        elif atom.kind == _OPEN:
            stack.append((atom.text, atom.raw))
            out.append((_OPEN, atom.text, atom.raw))
        elif atom.kind == _CLOSE:
            names = [name for name, _ in stack]
            if atom.text in names:  # a stray end tag is dropped; misnesting is closed properly
                depth = len(names) - 1 - names[::-1].index(atom.text)
                for name in reversed(names[depth:]):
                    close(name)
                del stack[depth:]
        else:
            out.append((_VOID, atom.text, atom.raw))
    for name, _ in reversed(stack):
        close(name)
    return "" if last is None else "".join(raw for _, _, raw in out)
