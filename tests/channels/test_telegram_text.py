"""Splitting Telegram-HTML messages: limits in UTF-16 units, clean cuts, balanced tags."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.telegram_text import TELEGRAM_LIMIT, plain_text, split_message, visible_length

ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);")


class TagChecker(HTMLParser):
    """Records start tags and fails on an end tag that does not close the innermost element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.starts: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self.starts.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> with {self.stack} open")
        else:
            self.stack.pop()


def check_tags(part: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(part)
    checker.close()
    assert not checker.errors, (part, checker.errors)
    assert not checker.stack, (part, checker.stack)
    return checker


def check_parts(parts: list[str], limit: int, *, trimmed: bool = True) -> None:
    for part in parts:
        assert visible_length(part) <= limit, part
        assert plain_text(part).strip(), part
        assert plain_text(part).rstrip() == plain_text(part), part
        if trimmed:
            assert plain_text(part).lstrip() == plain_text(part), part
        check_tags(part)
        assert "&" not in ENTITY.sub("", part), f"cut entity in {part!r}"


def words(html_text: str) -> list[str]:
    return plain_text(html_text).split()


def words_of(parts: list[str]) -> list[str]:
    return [word for part in parts for word in words(part)]


# --- measuring ----------------------------------------------------------------------------


def test_visible_length_ignores_tags_and_decodes_entities() -> None:
    text = '<b>a</b> &amp; <a href="https://x.test/?a=1&amp;b=2">link</a> &lt;&gt;&quot;&#65;'
    assert plain_text(text) == 'a & link <>"A'
    assert visible_length(text) == len('a & link <>"A')


def test_emoji_count_as_two_units() -> None:
    assert visible_length("😀") == 2
    assert visible_length("&#128512;") == 2
    assert visible_length("é€") == 2
    assert split_message("😀" * 3, limit=4) == ["😀😀", "😀"]
    assert split_message("ab 😀 cd", limit=5) == ["ab 😀", "cd"]


# --- splitting ----------------------------------------------------------------------------


def test_short_text_comes_back_unchanged() -> None:
    text = "  <b>Hello</b>,\n\nworld &amp; friends  "
    assert split_message(text) == [text]
    assert split_message(text, limit=visible_length(text)) == [text]


def test_blank_text_gives_no_parts() -> None:
    assert split_message("") == []
    assert split_message(" \n <b> </b> ") == []


def test_limit_too_small_is_rejected() -> None:
    with pytest.raises(ValueError, match="limit"):
        split_message("hello", limit=1)


def test_default_limit_is_telegrams() -> None:
    paragraph = "word " * 700  # 3500 characters
    parts = split_message(f"{paragraph}\n\n{paragraph}")
    assert parts == [paragraph.strip(), paragraph.strip()]
    assert all(visible_length(part) <= TELEGRAM_LIMIT for part in parts)


def test_splits_at_paragraph_when_it_fits() -> None:
    first = "First paragraph. It has two sentences."
    second = "Second one\nhas a line break."
    parts = split_message(f"{first}\n\n{second}", limit=len(first) + 5)
    assert parts == [first, second]


def test_exactly_at_the_limit() -> None:
    first, second = "a" * 10, "b" * 10
    assert split_message(f"{first}\n\n{second}", limit=10) == [first, second]
    assert split_message(f"{first} {second}", limit=10) == [first, second]


def test_prefers_paragraph_over_line_over_sentence_over_space() -> None:
    text = "Alpha beta.\n\nGamma delta\nepsilon. Zeta eta theta"
    assert split_message(text, limit=40)[0] == "Alpha beta."
    text = "Alpha beta\ngamma. Delta epsilon zeta eta"
    assert split_message(text, limit=30)[0] == "Alpha beta"
    text = "Alpha beta. Gamma delta epsilon zeta eta"
    assert split_message(text, limit=30)[0] == "Alpha beta."
    text = "Alpha beta gamma delta epsilon zeta eta"
    assert split_message(text, limit=30)[0] == "Alpha beta gamma delta epsilon"


def test_no_word_is_broken() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    parts = split_message(text, limit=50)
    check_parts(parts, 50)
    assert words_of(parts) == words(text)
    assert " ".join(parts) == text


def test_tag_spanning_the_cut_is_closed_and_reopened() -> None:
    text = "Intro <b>bold text that runs on</b> outro"
    parts = split_message(text, limit=15)
    check_parts(parts, 15)
    assert parts == ["Intro <b>bold text</b>", "<b>that runs on</b>", "outro"]


def test_link_is_reopened_with_its_attributes() -> None:
    text = 'See <a href="https://warta.test/a?x=1&amp;y=2">the full story about the budget</a> now'
    parts = split_message(text, limit=20)
    check_parts(parts, 20)
    assert words_of(parts) == words(text)
    link_parts = [part for part in parts if "story" in part or "budget" in part]
    assert len(link_parts) >= 2
    for part in link_parts:
        starts = check_tags(part).starts
        assert ("a", [("href", "https://warta.test/a?x=1&y=2")]) in starts
    assert parts[1].startswith('<a href="https://warta.test/a?x=1&amp;y=2">')


def test_nested_tags_reopen_in_order() -> None:
    text = (
        "<blockquote><i>one two <tg-spoiler>three four five six</tg-spoiler> seven</i></blockquote>"
    )
    parts = split_message(text, limit=14)
    check_parts(parts, 14)
    assert parts == [
        "<blockquote><i>one two <tg-spoiler>three</tg-spoiler></i></blockquote>",
        "<blockquote><i><tg-spoiler>four five six</tg-spoiler></i></blockquote>",
        "<blockquote><i>seven</i></blockquote>",
    ]


def test_entities_are_never_cut() -> None:
    text = "a&amp;b&lt;c&gt;d&quot;e&#128512;f" * 3
    parts = split_message(text, limit=5)
    check_parts(parts, 5)
    assert "".join(plain_text(part) for part in parts) == plain_text(text)


def test_single_word_longer_than_limit_is_hard_split() -> None:
    long_word = "x" * 25
    parts = split_message(f"short {long_word} tail", limit=10)
    check_parts(parts, 10)
    assert parts == ["short", "x" * 10, "x" * 10, "x" * 5 + " tail"]


def test_hard_split_keeps_emoji_and_clusters_whole() -> None:
    family = "👨\u200d👩\u200d👧"  # 8 UTF-16 units
    parts = split_message("😀" * 5, limit=5)
    assert parts == ["😀😀", "😀😀", "😀"]
    parts = split_message(family * 2, limit=10)
    assert parts == [family, family]
    parts = split_message("e\u0301" * 6, limit=5)  # e + combining acute
    assert parts == ["e\u0301e\u0301", "e\u0301e\u0301", "e\u0301e\u0301"]


def test_pre_block_longer_than_limit_is_split_inside_and_reopened() -> None:
    lines = [f"line_{i} = compute({i})" for i in range(12)]
    code = "\n".join(lines)
    text = f'Code:\n<pre><code class="language-python">{code}</code></pre>\nDone.'
    parts = split_message(text, limit=60)
    check_parts(parts, 60)
    assert len(parts) > 3
    assert parts[0].startswith("Code:\n<pre>")
    for part in parts[1:]:
        assert part.startswith('<pre><code class="language-python">'), part
    for part in parts[:-1]:
        assert part.endswith("</code></pre>"), part
    assert parts[-1].endswith("</code></pre>\nDone.")
    assert words_of(parts) == words(text)
    # Lines are never cut in the middle when a whole line fits.
    for part in parts:
        for line in plain_text(part).split("\n"):
            assert line in [*lines, "Code:", "Done."]


def test_pre_keeps_indentation_after_a_cut() -> None:
    text = "<pre>def f():\n    return 1\n    pass</pre>"
    parts = split_message(text, limit=14)
    check_parts(parts, 14, trimmed=False)
    assert parts == ["<pre>def f():</pre>", "<pre>    return 1</pre>", "<pre>    pass</pre>"]


def test_whitespace_at_cuts_is_trimmed() -> None:
    text = "  alpha   \n\n   beta  <b>  gamma </b>  "
    parts = split_message(text, limit=6)
    assert parts == ["alpha", "beta", "<b>gamma</b>"]


def test_parts_fit_again_unchanged() -> None:
    text = "<b>Breaking:</b> the council approved the budget. " * 20
    parts = split_message(text, limit=70)
    check_parts(parts, 70)
    for part in parts:
        assert split_message(part, limit=70) == [part]


# --- property -----------------------------------------------------------------------------

WORD_PIECES = st.sampled_from(
    ["a", "b", "kota", "Warta", "é", "😀", "&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "x."]
)
WORDS = st.lists(WORD_PIECES, min_size=1, max_size=3).map("".join)
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "  "])
OPEN_TAGS = st.sampled_from(
    [
        ("b", "<b>"),
        ("i", "<i>"),
        ("u", "<u>"),
        ("s", "<s>"),
        ("code", "<code>"),
        ("pre", "<pre>"),
        ("a", '<a href="https://warta.test/?q=1&amp;r=2">'),
        ("blockquote", "<blockquote>"),
        ("tg-spoiler", "<tg-spoiler>"),
    ]
)


def _join(pieces: list[str], separators: list[str]) -> str:
    out = pieces[0]
    for sep, piece in zip(separators, pieces[1:], strict=False):
        out += sep + piece
    return out


@st.composite
def fragments(draw: st.DrawFn, depth: int = 0) -> str:
    count = draw(st.integers(min_value=1, max_value=6))
    pieces = []
    for _ in range(count):
        if depth < 3 and draw(st.integers(0, 4)) == 0:
            name, start = draw(OPEN_TAGS)
            pieces.append(f"{start}{draw(fragments(depth + 1))}</{name}>")
        else:
            pieces.append(draw(WORDS))
    return _join(pieces, [draw(SEPARATORS) for _ in range(count - 1)])


@settings(max_examples=300, deadline=None)
@given(text=fragments(), limit=st.integers(min_value=20, max_value=80))
def test_property_parts_fit_balance_and_keep_words(text: str, limit: int) -> None:
    parts = split_message(text, limit=limit)
    check_parts(parts, limit)
    assert words_of(parts) == words(text)  # no word from the generator exceeds 20 units
    if visible_length(text) <= limit:
        assert parts == [text]


@settings(max_examples=200, deadline=None)
@given(text=fragments(), limit=st.integers(min_value=2, max_value=12))
def test_property_tiny_limits_still_fit_and_keep_text(text: str, limit: int) -> None:
    parts = split_message(text, limit=limit)
    check_parts(parts, limit)
    assert "".join(words_of(parts)) == "".join(words(text))
