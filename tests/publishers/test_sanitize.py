"""clean_html: a table of attacks that must come out harmless, and the markup that must stay."""

from __future__ import annotations

import pytest

from publishers.sanitize import clean_html

ATTACKS = [
    ("script", "<p>Balai kota<script>alert(1)</script></p>", "<p>Balai kota</p>"),
    ("script-src", '<script src="https://evil.example/x.js"></script>ok', "ok"),
    ("style-element", "<style>p{display:none}</style><p>teks</p>", "<p>teks</p>"),
    ("img-onerror", "<img src=x onerror=alert(1)>", '<img src="x">'),
    (
        "a-onclick",
        '<a href="https://kota.go.id/" onclick="steal()">tautan</a>',
        '<a href="https://kota.go.id/" rel="noopener noreferrer">tautan</a>',
    ),
    (
        "javascript-href",
        '<a href="javascript:alert(1)">klik</a>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    (
        "javascript-href-mixed-case",
        '<A HREF="JaVaScRiPt:alert(1)">klik</A>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    (
        "javascript-href-entity-encoded",
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">klik</a>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    (
        "javascript-href-tab-inside",
        '<a href="jav&#x09;ascript:alert(1)">klik</a>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    (
        "javascript-href-leading-space",
        '<a href=" javascript:alert(1)">klik</a>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    (
        "data-href",
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">klik</a>',
        '<a rel="noopener noreferrer">klik</a>',
    ),
    ("data-img-src", '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="x">', '<img alt="x">'),
    ("iframe", '<iframe src="https://evil.example/"></iframe><p>ok</p>', "<p>ok</p>"),
    ("style-attribute", '<p style="background:url(javascript:alert(1))">s</p>', "<p>s</p>"),
    ("svg-onload", "<svg onload=alert(1)><circle r=1 /></svg>teks", "teks"),
    ("math-xlink", '<math><mi xlink:href="javascript:alert(1)">x</mi></math>ok', "ok"),
    ("object", '<object data="https://evil.example/x.swf"></object>ok', "ok"),
    ("form", '<form action="https://evil.example/"><input name=p></form>ok', "ok"),
    ("comment", "<!-- <script>alert(1)</script> -->ok", "ok"),
    ("class-and-id", '<p class="x" id="y">s</p>', "<p>s</p>"),
    ("relative-link", '<a href="/admin">r</a>', '<a rel="noopener noreferrer">r</a>'),
    (
        "rel-overridden",
        '<a href="https://kota.go.id/" rel="opener" target="_blank">t</a>',
        '<a href="https://kota.go.id/" rel="noopener noreferrer">t</a>',
    ),
]


@pytest.mark.parametrize(
    ("markup", "expected"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS]
)
def test_attacks_are_neutralised(markup: str, expected: str) -> None:
    cleaned = clean_html(markup)
    assert cleaned == expected
    lowered = cleaned.lower()
    for needle in ("<script", "javascript:", "onerror", "onload", "onclick", "style=", "<iframe"):
        assert needle not in lowered


KEPT = [
    "<p>Paragraf <strong>tebal</strong>, <b>b</b>, <em>miring</em>, <i>i</i>, <u>garis</u>.</p>",
    "<p>baris satu<br>baris dua</p>",
    "<ul><li>satu</li></ul><ol><li>dua</li></ol>",
    "<blockquote>kutipan</blockquote><h2>Sub</h2><h3>Subsub</h3>",
    '<figure><img src="https://kota.go.id/foto.jpg" alt="Wali kota">'
    "<figcaption>Keterangan</figcaption></figure>",
    '<img src="foto-1.jpg" alt="relatif">',
    '<a href="https://kota.go.id/berita?a=1&amp;b=2" title="Berita" rel="noopener noreferrer">'
    "tautan</a>",
    '<a href="http://kota.go.id/" rel="noopener noreferrer">http</a>',
    '<a href="mailto:humas@kota.go.id" rel="noopener noreferrer">surel</a>',
]


@pytest.mark.parametrize("markup", KEPT)
def test_allowed_markup_is_kept(markup: str) -> None:
    assert clean_html(markup) == markup


def test_links_get_rel_noopener() -> None:
    assert clean_html('<a href="https://kota.go.id/">x</a>') == (
        '<a href="https://kota.go.id/" rel="noopener noreferrer">x</a>'
    )


def test_unknown_tags_are_unwrapped_keeping_text() -> None:
    assert clean_html("<div><span>teks</span></div>") == "teks"


def test_plain_text_is_escaped() -> None:
    assert clean_html("a < b & c") == "a &lt; b &amp; c"
