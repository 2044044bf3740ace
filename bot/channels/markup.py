"""Render Warta's neutral message markup in each channel's format, and split it into sized parts."""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from itertools import accumulate, groupby
from urllib.parse import urlsplit

__all__ = ["Markup", "plain", "render", "split"]


class Markup(StrEnum):
    """A message format: Warta's own neutral markup, or what one channel expects."""

    NEUTRAL = "neutral"  # Warta's own markup, passed through unchanged
    TELEGRAM_HTML = "telegram_html"
    WHATSAPP = "whatsapp"
    PLAIN = "plain"
    EMAIL_HTML = "email_html"


_TAGS = frozenset({"b", "i", "code", "pre", "a"})
_MONOSPACE = frozenset({"code", "pre"})
_EMAIL_SCHEMES = frozenset({"http", "https", "mailto"})
_EMAIL_TAGS = {"b": "strong", "i": "em"}
_WHATSAPP_MARKERS = {"b": "*", "i": "_", "code": "`"}
# Spaces that deliberately glue words together: never a place to cut, never trimmed.
_NO_BREAK = "\u00a0\u2007\u202f"
_SPACE_RUN = re.compile(rf"[^\S{_NO_BREAK}]+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_MANY_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n){2,}")
_ZWJ = "\u200d"


@dataclass(eq=False)  # compared by identity: two equal-looking spans are still two spans
class _Element:
    tag: str
    href: str | None = None
    children: list[_Node] = field(default_factory=list)


_Node = str | _Element
_Styles = tuple[_Element, ...]  # the elements around one character, outermost first
_Renderer = Callable[[str, Sequence[_Styles]], str]


class _Parser(HTMLParser):
    """Neutral markup to a tree; anything that is not one of Warta's tags stays visible as text."""

    # Raw-text modes would swallow everything after an unknown <script> or <style> (and, on newer
    # Pythons, <title> or <textarea>) without decoding entities; those are just text here.
    CDATA_CONTENT_ELEMENTS = ()
    RCDATA_CONTENT_ELEMENTS = ()

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("")
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.handle_data(self.get_starttag_text() or f"<{tag}>")
            return
        element = _Element(tag, dict(attrs).get("href") if tag == "a" else None)
        self._open[-1].children.append(element)
        self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _TAGS:
            self.handle_data(self.get_starttag_text() or f"<{tag}/>")
        # A self-closed <b/> is an empty element: nothing to show.

    def handle_endtag(self, tag: str) -> None:
        if tag not in _TAGS:
            self.handle_data(f"</{tag}>")
            return
        depth = next(
            (d for d in range(len(self._open) - 1, 0, -1) if self._open[d].tag == tag), None
        )
        if depth is None:
            return  # a stray end tag is markup, not text: nothing is lost by dropping it
        interrupted = self._open[depth + 1 :]
        del self._open[depth:]
        # Misnested "<b>x<i>y</b>z</i>": the italic goes on after the bold ends, as in browsers.
        for element in interrupted:
            self.handle_starttag(element.tag, [("href", element.href)])

    def handle_data(self, data: str) -> None:
        children = self._open[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    # Comments and declarations never come from Warta's templates; show them rather than lose them.
    def handle_comment(self, data: str) -> None:
        self.handle_data(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.handle_data(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.handle_data(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.handle_data(f"<![{data}]]>" if data.startswith("CDATA[") else f"<![{data}]>")


def _parse(text: str) -> list[_Node]:
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.root.children


def _text_of(nodes: Sequence[_Node]) -> str:
    return "".join(node if isinstance(node, str) else _text_of(node.children) for node in nodes)


def _links_as_text(nodes: Sequence[_Node]) -> list[_Node]:
    """Links become "label (url)", or the url alone when the label already says it."""
    result: list[_Node] = []
    for node in nodes:
        if isinstance(node, str):
            result.append(node)
            continue
        children = _links_as_text(node.children)
        if node.tag != "a":
            result.append(_Element(node.tag, node.href, children))
        elif not node.href:
            result.extend(children)
        else:
            label = _text_of(children).strip()
            if not label:
                result.append(node.href)
            elif label in (node.href, node.href.removeprefix("mailto:")):
                result.extend(children)
            else:
                result.extend([*children, f" ({node.href})"])
    return result


# Which elements each format keeps, given the kept elements around them; the rest are unwrapped
# (their text stays, their formatting goes).
def _keep_all(element: _Element, outer: _Styles) -> bool:
    return True


def _keep_none(element: _Element, outer: _Styles) -> bool:
    return False


def _keep_telegram(element: _Element, outer: _Styles) -> bool:
    # Bot API: code and pre contain no other entities; links, code and pre cannot contain each
    # other; bold and italic go anywhere else. Telegram refuses a message that breaks this.
    tags = {e.tag for e in outer}
    if element.tag == "a" and not element.href:
        return False
    if tags & _MONOSPACE:
        return False
    return not (element.tag in {"a", *_MONOSPACE} and "a" in tags)


def _keep_whatsapp(element: _Element, outer: _Styles) -> bool:
    # Markers inside monospace show literally, and a doubled marker ("**x**") breaks the emphasis.
    tags = {e.tag for e in outer}
    return not (tags & _MONOSPACE or element.tag in tags)


def _keep_email(element: _Element, outer: _Styles) -> bool:
    tags = {e.tag for e in outer}
    if element.tag == "a":
        # Anything but web and mail links (javascript:, data:, tg:) stays plain text in an e-mail.
        href = (element.href or "").strip()
        return "a" not in tags and urlsplit(href).scheme.lower() in _EMAIL_SCHEMES
    return not (element.tag == "pre" and "pre" in tags)


@dataclass(frozen=True, slots=True)
class _Document:
    """The visible text of a message, with the formatting around each of its characters."""

    text: str
    styles: list[_Styles]


def _flatten(
    nodes: Sequence[_Node],
    outer: _Styles,
    keep: Callable[[_Element, _Styles], bool],
    chunks: list[str],
    styles: list[_Styles],
) -> None:
    for node in nodes:
        if isinstance(node, str):
            chunks.append(node)
            styles.extend([outer] * len(node))
        else:
            inner = (*outer, node) if keep(node, outer) else outer
            _flatten(node.children, inner, keep, chunks, styles)


def _document(text: str, markup: Markup) -> _Document:
    nodes = _parse(text)
    if markup in (Markup.PLAIN, Markup.WHATSAPP):
        nodes = _links_as_text(nodes)
    chunks: list[str] = []
    styles: list[_Styles] = []
    _flatten(nodes, (), _KEEP[markup], chunks, styles)
    return _Document("".join(chunks), styles)


def _nest(text: str, styles: Sequence[_Styles]) -> list[_Node]:
    """Rebuild a tree from a stretch of a document; elements cut off by a split are reopened."""
    root: list[_Node] = []
    path: list[tuple[_Element, list[_Node]]] = []  # (source element, its copy's children)
    start = 0
    for end in range(1, len(text) + 1):
        if end < len(text) and styles[end] == styles[start]:
            continue
        stack = styles[start]
        common = 0
        while common < min(len(path), len(stack)) and path[common][0] is stack[common]:
            common += 1
        del path[common:]
        for element in stack[common:]:
            copy = _Element(element.tag, element.href)
            (path[-1][1] if path else root).append(copy)
            path.append((element, copy.children))
        (path[-1][1] if path else root).append(text[start:end])
        start = end
    return root


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html(nodes: Sequence[_Node]) -> str:
    """Neutral or Telegram HTML, escaped only with the entities Telegram knows."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(_escape_text(node))
            continue
        if node.href is None:
            opening = f"<{node.tag}>"
        else:
            opening = f'<{node.tag} href="{_escape_text(node.href).replace(chr(34), "&quot;")}">'
        out.append(f"{opening}{_html(node.children)}</{node.tag}>")
    return "".join(out)


def _render_html(text: str, styles: Sequence[_Styles]) -> str:
    return _html(_nest(text, styles))


def _render_plain(text: str, styles: Sequence[_Styles]) -> str:
    return _MANY_BLANK_LINES.sub("\n\n", text)


def _whatsapp(nodes: Sequence[_Node]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node.tag == "pre":
            out.append(_whatsapp_block(_whatsapp(node.children)))
        else:
            # WhatsApp emphasis stops at a line break, so each line gets its own markers.
            marker = _WHATSAPP_MARKERS[node.tag]
            lines = _whatsapp(node.children).split("\n")
            out.append("\n".join(_whatsapp_line(line, marker) for line in lines))
    return "".join(out)


def _whatsapp_line(line: str, marker: str) -> str:
    # WhatsApp ignores "* x *": the markers must touch the text, so the spaces go outside.
    core = line.strip()
    if not core:
        return line
    lead = line[: len(line) - len(line.lstrip())]
    trail = line[len(line.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _whatsapp_block(block: str) -> str:
    core = block.strip("\n")  # indentation is part of preformatted text; only line breaks go
    if not core.strip():
        return block
    lead = block[: len(block) - len(block.lstrip("\n"))]
    trail = block[len(block.rstrip("\n")) :]
    return f"{lead}```{core}```{trail}"


def _render_whatsapp(text: str, styles: Sequence[_Styles]) -> str:
    return _whatsapp(_nest(text, styles))


def _email(nodes: Sequence[_Node], *, preformatted: bool) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            escaped = html.escape(node, quote=False)
            out.append(escaped if preformatted else escaped.replace("\n", "<br>\n"))
            continue
        tag = _EMAIL_TAGS.get(node.tag, node.tag)
        inner = _email(node.children, preformatted=preformatted)
        if tag == "a":
            out.append(f'<a href="{html.escape((node.href or "").strip())}">{inner}</a>')
        else:
            out.append(f"<{tag}>{inner}</{tag}>")
    return "".join(out)


def _render_email(text: str, styles: Sequence[_Styles]) -> str:
    """Paragraphs and preformatted blocks, one a line; a <pre> never sits inside a <p>."""
    blocks: list[str] = []
    pre_of = [next((e for e in stack if e.tag == "pre"), None) for stack in styles]
    for pre, group in groupby(range(len(text)), key=pre_of.__getitem__):
        indexes = list(group)
        first, last = indexes[0], indexes[-1] + 1
        if pre is not None:
            inner = [tuple(e for e in styles[i] if e is not pre) for i in indexes]
            body = _email(_nest(text[first:last], inner), preformatted=True)
            blocks.append(f"<pre>{body}</pre>")
            continue
        for start, end in _paragraphs(text, first, last):
            body = _email(_nest(text[start:end], styles[start:end]), preformatted=False)
            blocks.append(f"<p>{body}</p>")
    return "\n".join(blocks)


def _paragraphs(text: str, first: int, last: int) -> list[tuple[int, int]]:
    """The non-blank stretches of text[first:last] between blank lines, trimmed."""
    bounds = [first]
    for match in _BLANK_LINE.finditer(text, first, last):
        bounds += [match.start(), match.end()]
    bounds.append(last)
    paragraphs = []
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            paragraphs.append((start, end))
    return paragraphs


_KEEP: dict[Markup, Callable[[_Element, _Styles], bool]] = {
    Markup.NEUTRAL: _keep_all,
    Markup.TELEGRAM_HTML: _keep_telegram,
    Markup.WHATSAPP: _keep_whatsapp,
    Markup.PLAIN: _keep_none,
    Markup.EMAIL_HTML: _keep_email,
}
_RENDERERS: dict[Markup, _Renderer] = {
    Markup.NEUTRAL: _render_html,  # only used to re-serialise the parts of a split
    Markup.TELEGRAM_HTML: _render_html,
    Markup.WHATSAPP: _render_whatsapp,
    Markup.PLAIN: _render_plain,
    Markup.EMAIL_HTML: _render_email,
}


def render(text: str, markup: Markup) -> str:
    """Render neutral markup ``text`` in ``markup``; neutral markup comes back unchanged."""
    markup = Markup(markup)
    if markup is Markup.NEUTRAL:
        return text
    document = _document(text, markup)
    return _RENDERERS[markup](document.text, document.styles)


def plain(text: str) -> str:
    """The text of neutral markup without any formatting: tags gone, entities decoded."""
    return render(text, Markup.PLAIN)


def split(text: str, markup: Markup, limit: int) -> list[str]:
    """Render ``text`` in ``markup`` as parts of at most ``limit`` characters each.

    A rendering that fits comes back whole as the only part; a blank text gives no parts. Cuts
    prefer a blank line, then a line break, then a space; a word is cut only when it alone is
    longer than a part. The cut is made in the parsed text, so no tag or entity is ever cut, and
    formatting open at a cut is closed at the end of one part and reopened in the next. A part
    whose formatting alone would not fit (a link longer than ``limit``) drops it and keeps the
    text; ``ValueError`` if ``limit`` cannot hold even one rendered character.
    """
    markup = Markup(markup)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    document = _document(text, markup)
    if not any(not _is_space(char) for char in document.text):
        return []
    renderer = _RENDERERS[markup]
    whole = text if markup is Markup.NEUTRAL else renderer(document.text, document.styles)
    if len(whole) <= limit:
        return [whole]
    return _Splitter(document, renderer, limit).parts()


def _is_space(char: str) -> bool:
    return char.isspace() and char not in _NO_BREAK


class _Splitter:
    """Cuts one document into rendered parts, each as long as the limit and the breaks allow."""

    def __init__(self, document: _Document, renderer: _Renderer, limit: int) -> None:
        self.text = document.text
        self.styles = document.styles
        self.renderer = renderer
        self.limit = limit
        self.in_pre = [any(e.tag == "pre" for e in stack) for stack in self.styles]
        # Non-space characters before each position: each costs at least one rendered character,
        # which bounds how far a part can reach without rendering it.
        self.solid = list(accumulate((not _is_space(c) for c in self.text), initial=0))
        self.runs = [
            (m.start(), m.end(), _break_rank(m.group())) for m in _SPACE_RUN.finditer(self.text)
        ]
        self.run_starts = [start for start, _, _ in self.runs]
        self.end = len(self.text)
        while self.end and _is_space(self.text[self.end - 1]):
            self.end -= 1

    def parts(self) -> list[str]:
        parts = []
        start = self._part_start(0)
        while start < self.end:
            end, bare = self._cut(start)
            parts.append(self._render(start, end, bare=bare))
            start = self._part_start(end)
        return parts

    def _render(self, start: int, end: int, *, bare: bool = False) -> str:
        styles = [()] * (end - start) if bare else self.styles[start:end]
        return self.renderer(self.text[start:end], styles)

    def _fits(self, start: int, end: int, *, bare: bool) -> bool:
        return len(self._render(start, end, bare=bare)) <= self.limit

    def _cut(self, start: int) -> tuple[int, bool]:
        """Where the part from ``start`` ends, and whether it must drop its formatting to fit."""
        for bare in (False, True):
            longest = self._longest(start, bare=bare)
            if longest > start:
                break
        else:
            raise ValueError(f"limit {self.limit} cannot hold even one character of this text")
        if longest == self.end:
            return longest, bare
        best = None  # (rank, run start); a lower rank is a better place to cut
        first = bisect_right(self.run_starts, start)
        for index in range(first, bisect_right(self.run_starts, longest)):
            run_start, _, rank = self.runs[index]
            if best is None or rank <= best[0]:
                best = (rank, run_start)
        if best is not None and self._fits(start, best[1], bare=bare):
            return best[1], bare
        cut = longest
        while cut > start and _glued(self.text, cut):
            cut -= 1
        return (cut if cut > start else longest), bare

    def _longest(self, start: int, *, bare: bool) -> int:
        """The furthest end whose rendering fits, by bisection: longer slices render longer."""
        reach = bisect_right(self.solid, self.solid[start] + self.limit) - 1
        high = min(self.end, max(reach, start + 1))
        if self._fits(start, high, bare=bare):
            return high
        low = start  # fits (empty); ``high`` does not
        while high - low > 1:
            middle = (low + high) // 2
            if self._fits(start, middle, bare=bare):
                low = middle
            else:
                high = middle
        return low

    def _part_start(self, position: int) -> int:
        """Skip the spaces a part would start with, keeping indentation inside <pre>."""
        content = position
        while content < len(self.text) and _is_space(self.text[content]):
            content += 1
        keep = content
        # Indentation follows a line break (or the very start); a cut at a space is not one.
        at_line_start = position == 0 or "\n" in self.text[position:content]
        if content < len(self.text) and self.in_pre[content] and at_line_start:
            while keep > position and self.in_pre[keep - 1] and self.text[keep - 1] != "\n":
                keep -= 1
        return keep


def _break_rank(run: str) -> int:
    """0 for a blank line, 1 for a line break, 2 for a space."""
    return max(0, 2 - run.count("\n"))


def _glued(text: str, at: int) -> bool:
    """Whether ``text[at]`` continues the character ``text[at - 1]`` begins (accents, emoji)."""
    if at >= len(text):
        return False
    before, after = text[at - 1], text[at]
    if _ZWJ in (before, after):
        return True
    if unicodedata.category(after).startswith("M"):  # combining marks, variation selectors
        return True
    if "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return True  # emoji skin tones and tag sequences (subdivision flags)
    if _regional(before) and _regional(after):  # a flag is a pair of regional indicators
        run = 0
        while at - 1 - run >= 0 and _regional(text[at - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"
