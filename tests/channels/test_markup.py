"""Neutral markup rendered for each channel, and split into parts that fit and lose nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.markup import Markup, plain, render, split

TELEGRAM = Markup.TELEGRAM_HTML
WHATSAPP = Markup.WHATSAPP
PLAIN = Markup.PLAIN
EMAIL = Markup.EMAIL_HTML
HTML_OUTPUTS = (Markup.NEUTRAL, TELEGRAM, EMAIL)
ALLOWED_TAGS = {
    Markup.NEUTRAL: {"b", "i", "code", "pre", "a"},
    TELEGRAM: {"b", "i", "code", "pre", "a"},
    EMAIL: {"p", "br", "strong", "em", "code", "pre", "a"},
}
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#[xX][0-9a-fA-F]+);")

# (name, neutral markup, {markup: expected rendering}); NEUTRAL always comes back unchanged.
RENDERINGS = [
    (
        "bold",
        "<b>Berita</b> hari ini",
        {
            TELEGRAM: "<b>Berita</b> hari ini",
            WHATSAPP: "*Berita* hari ini",
            PLAIN: "Berita hari ini",
            EMAIL: "<p><strong>Berita</strong> hari ini</p>",
        },
    ),
    (
        "italic",
        "Catatan <i>redaksi</i>",
        {
            TELEGRAM: "Catatan <i>redaksi</i>",
            WHATSAPP: "Catatan _redaksi_",
            PLAIN: "Catatan redaksi",
            EMAIL: "<p>Catatan <em>redaksi</em></p>",
        },
    ),
    (
        "code",
        "Ketik <code>/setuju 12</code>",
        {
            TELEGRAM: "Ketik <code>/setuju 12</code>",
            WHATSAPP: "Ketik `/setuju 12`",
            PLAIN: "Ketik /setuju 12",
            EMAIL: "<p>Ketik <code>/setuju 12</code></p>",
        },
    ),
    (
        "pre",
        "Perubahan:\n<pre>- judul lama\n+ judul baru</pre>",
        {
            TELEGRAM: "Perubahan:\n<pre>- judul lama\n+ judul baru</pre>",
            WHATSAPP: "Perubahan:\n```- judul lama\n+ judul baru```",
            PLAIN: "Perubahan:\n- judul lama\n+ judul baru",
            EMAIL: "<p>Perubahan:</p>\n<pre>- judul lama\n+ judul baru</pre>",
        },
    ),
    (
        "link",
        'Baca <a href="https://warta.id/12?a=1&amp;b=2">berita #12</a>',
        {
            TELEGRAM: 'Baca <a href="https://warta.id/12?a=1&amp;b=2">berita #12</a>',
            WHATSAPP: "Baca berita #12 (https://warta.id/12?a=1&b=2)",
            PLAIN: "Baca berita #12 (https://warta.id/12?a=1&b=2)",
            EMAIL: '<p>Baca <a href="https://warta.id/12?a=1&amp;b=2">berita #12</a></p>',
        },
    ),
    (
        "link whose label is its url",
        '<a href="https://warta.id">https://warta.id</a>',
        {
            TELEGRAM: '<a href="https://warta.id">https://warta.id</a>',
            WHATSAPP: "https://warta.id",
            PLAIN: "https://warta.id",
            EMAIL: '<p><a href="https://warta.id">https://warta.id</a></p>',
        },
    ),
    (
        "link href with a quote",
        '<a href="https://warta.id/?q=&quot;banjir&quot;">cari</a>',
        {
            TELEGRAM: '<a href="https://warta.id/?q=&quot;banjir&quot;">cari</a>',
            WHATSAPP: 'cari (https://warta.id/?q="banjir")',
            PLAIN: 'cari (https://warta.id/?q="banjir")',
            EMAIL: '<p><a href="https://warta.id/?q=&quot;banjir&quot;">cari</a></p>',
        },
    ),
    (
        "mail link",
        '<a href="mailto:redaksi@warta.id">redaksi@warta.id</a>',
        {
            TELEGRAM: '<a href="mailto:redaksi@warta.id">redaksi@warta.id</a>',
            WHATSAPP: "redaksi@warta.id",
            PLAIN: "redaksi@warta.id",
            EMAIL: '<p><a href="mailto:redaksi@warta.id">redaksi@warta.id</a></p>',
        },
    ),
    (
        "script link is only text in e-mail",
        '<a href="javascript:alert(1)">klik</a>',
        {
            TELEGRAM: '<a href="javascript:alert(1)">klik</a>',
            WHATSAPP: "klik (javascript:alert(1))",
            PLAIN: "klik (javascript:alert(1))",
            EMAIL: "<p>klik</p>",
        },
    ),
    (
        "entities stay literal text",
        "&lt;b&gt;Jalan &amp; Jembatan&lt;/b&gt; &quot;kata&quot; &#x27;kutip&#x27;",
        {
            TELEGRAM: "&lt;b&gt;Jalan &amp; Jembatan&lt;/b&gt; \"kata\" 'kutip'",
            WHATSAPP: "<b>Jalan & Jembatan</b> \"kata\" 'kutip'",
            PLAIN: "<b>Jalan & Jembatan</b> \"kata\" 'kutip'",
            EMAIL: "<p>&lt;b&gt;Jalan &amp; Jembatan&lt;/b&gt; \"kata\" 'kutip'</p>",
        },
    ),
    (
        "unknown tags are shown, not obeyed",
        "Awas <script>alert('x')</script> <u>garis</u><br>",
        {
            TELEGRAM: (
                "Awas &lt;script&gt;alert('x')&lt;/script&gt; &lt;u&gt;garis&lt;/u&gt;&lt;br&gt;"
            ),
            WHATSAPP: "Awas <script>alert('x')</script> <u>garis</u><br>",
            PLAIN: "Awas <script>alert('x')</script> <u>garis</u><br>",
            EMAIL: (
                "<p>Awas &lt;script&gt;alert('x')&lt;/script&gt;"
                " &lt;u&gt;garis&lt;/u&gt;&lt;br&gt;</p>"
            ),
        },
    ),
    (
        "nested",
        "<b>#12 <i>x</i></b> masuk",
        {
            TELEGRAM: "<b>#12 <i>x</i></b> masuk",
            WHATSAPP: "*#12 _x_* masuk",
            PLAIN: "#12 x masuk",
            EMAIL: "<p><strong>#12 <em>x</em></strong> masuk</p>",
        },
    ),
    (
        "unbalanced",
        "<b>tebal <i>miring</b> lanjut</i> sisa</b> <i>terbuka",
        {
            TELEGRAM: "<b>tebal <i>miring</i></b><i> lanjut</i> sisa <i>terbuka</i>",
            WHATSAPP: "*tebal _miring_* _lanjut_ sisa _terbuka_",
            PLAIN: "tebal miring lanjut sisa terbuka",
            EMAIL: (
                "<p><strong>tebal <em>miring</em></strong><em> lanjut</em> sisa"
                " <em>terbuka</em></p>"
            ),
        },
    ),
    (
        "empty and spaced bold",
        "a<b></b>b <b> </b>c <b> x </b>d",
        {
            TELEGRAM: "ab <b> </b>c <b> x </b>d",
            WHATSAPP: "ab  c  *x* d",
            PLAIN: "ab  c  x d",
            EMAIL: "<p>ab <strong> </strong>c <strong> x </strong>d</p>",
        },
    ),
    (
        "bold over two lines",
        "<b>Judul\nSub judul</b>",
        {
            TELEGRAM: "<b>Judul\nSub judul</b>",
            WHATSAPP: "*Judul*\n*Sub judul*",
            PLAIN: "Judul\nSub judul",
            EMAIL: "<p><strong>Judul<br>\nSub judul</strong></p>",
        },
    ),
    (
        "bullets and paragraphs",
        "Tugas hari ini:\n• liputan pasar\n• rapat <b>Kasi</b>\n\n\n\nSelesai.",
        {
            TELEGRAM: "Tugas hari ini:\n• liputan pasar\n• rapat <b>Kasi</b>\n\n\n\nSelesai.",
            WHATSAPP: "Tugas hari ini:\n• liputan pasar\n• rapat *Kasi*\n\n\n\nSelesai.",
            PLAIN: "Tugas hari ini:\n• liputan pasar\n• rapat Kasi\n\nSelesai.",
            EMAIL: (
                "<p>Tugas hari ini:<br>\n• liputan pasar<br>\n• rapat <strong>Kasi</strong></p>\n"
                "<p>Selesai.</p>"
            ),
        },
    ),
    (
        "Indonesian text with accents and emoji",
        "📰 <b>Café «Kopi Kenangan»</b> — Bapak/Ibu, mohon cek ✅",
        {
            TELEGRAM: "📰 <b>Café «Kopi Kenangan»</b> — Bapak/Ibu, mohon cek ✅",
            WHATSAPP: "📰 *Café «Kopi Kenangan»* — Bapak/Ibu, mohon cek ✅",
            PLAIN: "📰 Café «Kopi Kenangan» — Bapak/Ibu, mohon cek ✅",
            EMAIL: "<p>📰 <strong>Café «Kopi Kenangan»</strong> — Bapak/Ibu, mohon cek ✅</p>",
        },
    ),
    (
        "formatting Telegram does not allow inside code and links",
        '<code><b>x</b></code> <a href="https://warta.id"><code>y</code></a>',
        {
            TELEGRAM: '<code>x</code> <a href="https://warta.id">y</a>',
            WHATSAPP: "`x` `y` (https://warta.id)",
            PLAIN: "x y (https://warta.id)",
            EMAIL: (
                '<p><code><strong>x</strong></code> <a href="https://warta.id"><code>y</code></a></p>'
            ),
        },
    ),
    (
        "link without href",
        "<a>tanpa alamat</a>",
        {
            TELEGRAM: "tanpa alamat",
            WHATSAPP: "tanpa alamat",
            PLAIN: "tanpa alamat",
            EMAIL: "<p>tanpa alamat</p>",
        },
    ),
]


def _rendering_cases() -> list[pytest.param]:
    cases = []
    for name, source, expected in RENDERINGS:
        cases.append(pytest.param(source, Markup.NEUTRAL, source, id=f"{name}-neutral"))
        cases += [
            pytest.param(source, markup, output, id=f"{name}-{markup}")
            for markup, output in expected.items()
        ]
    return cases


@pytest.mark.parametrize(("source", "markup", "expected"), _rendering_cases())
def test_render(source: str, markup: Markup, expected: str) -> None:
    assert render(source, markup) == expected


def test_every_markup_is_covered_by_every_case() -> None:
    for name, _, expected in RENDERINGS:
        assert set(expected) == set(Markup) - {Markup.NEUTRAL}, name


def test_plain_is_the_plain_rendering() -> None:
    assert plain("<b>Rapat</b> &amp; <i>liputan</i>") == "Rapat & liputan"


def test_markup_accepts_its_string_value() -> None:
    assert render("<b>x</b>", "whatsapp") == "*x*"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "letters"),
    [
        ("a < b", "ab"),
        ("x &amp y &", "xy"),
        ("</b>lepas", "lepas"),
        ("<b>terbuka", "terbuka"),
        ("<i>a<b>b</i>c", "abc"),
        ("<!-- catatan --> teks", "catatanteks"),
        ("<?php echo ?> teks", "phpechoteks"),
        ("<![CDATA[isi]]>", "CDATAisi"),
    ],
)
@pytest.mark.parametrize("markup", [TELEGRAM, WHATSAPP, PLAIN, EMAIL])
def test_malformed_markup_neither_crashes_nor_loses_text(
    source: str, letters: str, markup: Markup
) -> None:
    assert re.sub(r"[^A-Za-z]", "", visible_text(render(source, markup), markup)) == letters


# --- splitting --------------------------------------------------------------------------------


class TagChecker(HTMLParser):
    """Collects the text and fails on an end tag that does not close the innermost element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag != "br":  # the one void element, used by e-mail
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> with {self.stack} open")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_html(part: str, markup: Markup) -> str:
    """Assert ``part`` is well-formed with only the tags ``markup`` uses; return its text."""
    checker = TagChecker()
    checker.feed(part)
    checker.close()
    assert not checker.errors, (part, checker.errors)
    assert not checker.stack, (part, checker.stack)
    assert checker.tags <= ALLOWED_TAGS[markup], part
    assert "&" not in ENTITY.sub("", part), f"cut entity in {part!r}"
    return "".join(checker.text)


def visible_text(rendered: str, markup: Markup) -> str:
    """What a reader sees of one rendering (WhatsApp markers and HTML tags left out)."""
    if markup in HTML_OUTPUTS:
        return check_html(rendered, markup)
    if markup is WHATSAPP:
        return re.sub(r"[*_`]", "", rendered)
    return rendered


def solid(text: str) -> str:
    return re.sub(r"\s", "", text)


def check_split(source: str, markup: Markup, limit: int) -> list[str]:
    """Split and check: each part fits and is well-formed, and no character is lost."""
    parts = split(source, markup, limit)
    for part in parts:
        assert len(part) <= limit, (len(part), part)
        assert part.strip(), parts
    whole = source if markup is Markup.NEUTRAL else render(source, markup)
    seen = "".join(solid(visible_text(part, markup)) for part in parts)
    assert seen == solid(visible_text(whole, markup))
    return parts


REPORT = (
    "<b>Rekap liputan hari ini</b>\n\n"
    + "".join(
        f"• <b>#{n}</b> «Banjir di kelurahan {n}» oleh Reporter {n}, status "
        f"<i>menunggu penyuntingan</i> — <code>/sunting {n}</code>\n"
        for n in range(1, 30)
    )
    + '\nRincian: <a href="https://warta.id/rekap?hari=ini&amp;x=1">rekap lengkap</a> 📰 é\n'
)


@pytest.mark.parametrize("markup", list(Markup))
@pytest.mark.parametrize("limit", [100, 300, 1000])
def test_split_parts_fit_and_keep_every_word_in_order(markup: Markup, limit: int) -> None:
    parts = check_split(REPORT, markup, limit)
    assert len(parts) > 1
    whole = REPORT if markup is Markup.NEUTRAL else render(REPORT, markup)
    words = [word for part in parts for word in visible_text(part, markup).split()]
    assert words == visible_text(whole, markup).split()


@pytest.mark.parametrize("markup", [Markup.NEUTRAL, TELEGRAM])
def test_the_plain_parts_of_a_telegram_split_read_as_the_whole(markup: Markup) -> None:
    words = [word for part in split(REPORT, markup, 300) for word in plain(part).split()]
    assert words == plain(REPORT).split()


@pytest.mark.parametrize("markup", list(Markup))
def test_a_text_that_fits_is_one_part_as_rendered(markup: Markup) -> None:
    source = "<b>#12</b> «Pasar» &amp; <i>jalan</i>\n• satu"
    whole = source if markup is Markup.NEUTRAL else render(source, markup)
    assert split(source, markup, 4096) == [whole]


@pytest.mark.parametrize("markup", list(Markup))
def test_a_blank_text_has_no_parts(markup: Markup) -> None:
    assert split(" \n\n <b> </b>", markup, 100) == []


@pytest.mark.parametrize(
    ("markup", "opening", "closing"),
    [
        (Markup.NEUTRAL, "<b>", "</b>"),
        (TELEGRAM, "<b>", "</b>"),
        (WHATSAPP, "*", "*"),
        (EMAIL, "<p><strong>", "</strong></p>"),
    ],
)
def test_a_long_bold_is_closed_and_reopened_at_each_cut(
    markup: Markup, opening: str, closing: str
) -> None:
    parts = check_split("<b>" + "kata tebal " * 40 + "</b>", markup, 60)
    assert len(parts) > 3
    for part in parts:
        assert part.startswith(opening), part
        assert part.endswith(closing), part


def test_cuts_prefer_a_blank_line_then_a_line_break_then_a_space() -> None:
    source = "satu dua\ntiga\n\nempat lima\nenam tujuh delapan"
    assert split(source, PLAIN, 20) == ["satu dua\ntiga", "empat lima", "enam tujuh delapan"]


@pytest.mark.parametrize("markup", list(Markup))
def test_a_word_longer_than_the_limit_is_cut_hard(markup: Markup) -> None:
    parts = check_split("awal " + "x" * 95 + " akhir", markup, 30)
    assert "".join(solid(visible_text(part, markup)) for part in parts) == (
        "awal" + "x" * 95 + "akhir"
    )


def test_a_hard_cut_keeps_emoji_and_accents_whole() -> None:
    assert split("ab👍🏽", PLAIN, 3) == ["ab", "👍🏽"]
    assert split("abe\u0301", PLAIN, 3) == ["ab", "e\u0301"]


def test_a_cut_never_splits_an_entity() -> None:
    parts = check_split("&amp;" * 30, TELEGRAM, 12)
    assert parts[0] == "&amp;&amp;"


def test_a_cut_inside_pre_keeps_the_indentation() -> None:
    source = "<pre>def f():\n    return 1\n    return 2</pre>"
    assert split(source, TELEGRAM, 30) == [
        "<pre>def f():</pre>",
        "<pre>    return 1</pre>",
        "<pre>    return 2</pre>",
    ]


def test_a_long_paragraph_in_email_becomes_several_paragraphs() -> None:
    parts = check_split("Pertama.\n\n" + "kalimat panjang " * 20, EMAIL, 80)
    assert parts[0] == "<p>Pertama.</p>"
    assert all(part.startswith("<p>") and part.endswith("</p>") for part in parts)


def test_formatting_is_dropped_before_text_when_even_one_word_cannot_fit_with_it() -> None:
    source = '<a href="https://warta.id/rekap/hari-ini">rekap</a>'
    assert split(source, TELEGRAM, 20) == ["rekap"]


def test_a_limit_too_small_for_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        split("& & & & & &", TELEGRAM, 4)
    with pytest.raises(ValueError, match="limit"):
        split("x", PLAIN, 0)


def test_neutral_parts_are_reserialised_neutral_markup() -> None:
    parts = split("<b>" + "kata " * 20 + "</b> &lt;x&gt; <u>u</u>", Markup.NEUTRAL, 40)
    assert all(part.startswith("<b>") for part in parts[:-1])
    assert " ".join(parts).endswith("&lt;x&gt; &lt;u&gt;u&lt;/u&gt;")


# --- property ---------------------------------------------------------------------------------

WORD = st.one_of(
    st.text(alphabet="abcdefxyzé📰", min_size=1, max_size=25),
    st.sampled_from(["&amp;", "&lt;tag&gt;", "«kutip»", "#12", "•"]),
)
SEPARATOR = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\n• ", "  "])
LEAF = st.lists(st.tuples(WORD, SEPARATOR), min_size=1, max_size=8).map(
    lambda pairs: "".join(word + gap for word, gap in pairs)
)
TAG = st.sampled_from(["b", "i", "code", "pre", "a"])


def _wrap(tag: str, inner: str) -> str:
    opening = '<a href="https://warta.id/x?a=1&amp;b=2">' if tag == "a" else f"<{tag}>"
    return f"{opening}{inner}</{tag}>"


NEUTRAL_TEXT = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map("".join),
        st.builds(_wrap, TAG, inner),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(source=NEUTRAL_TEXT, markup=st.sampled_from(list(Markup)), limit=st.integers(16, 160))
def test_split_property_parts_fit_and_nothing_is_lost(
    source: str, markup: Markup, limit: int
) -> None:
    check_split(source, markup, limit)
