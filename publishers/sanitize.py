"""Cleans article HTML before it leaves for another site: a short allow-list, enforced by nh3."""

from __future__ import annotations

import html

import nh3

from publishers.base import Article
from publishers.format import paragraphs

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "a",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h2",
        "h3",
        "figure",
        "figcaption",
        "img",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped together with everything inside them, not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "svg", "math", "noscript", "template"}
)
_ABSOLUTE_LINK_PREFIXES = ("http://", "https://", "mailto:")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 has already removed unknown schemes (javascript:, data:, vbscript:...), entity-encoded
    # or not; here links must also be absolute, while an image may point to a relative path.
    if tag == "a" and attribute == "href" and not value.lower().startswith(_ABSOLUTE_LINK_PREFIXES):
        return None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer",
    url_schemes=set(URL_SCHEMES),
)


def clean_html(html: str) -> str:
    """Return ``html`` with only the allowed tags and attributes, and only safe URLs, kept."""
    return _CLEANER.clean(html)


def article_body_html(article: Article) -> str:
    """The reporter's plain-text body as sanitized HTML paragraphs (line breaks kept)."""
    blocks = (
        "<p>" + "<br>".join(html.escape(line) for line in block.splitlines()) + "</p>"
        for block in paragraphs(article.body)
    )
    return clean_html("\n".join(blocks))


def article_body_text(article: Article) -> str:
    """The reporter's body, paragraphs separated by one blank line."""
    return "\n\n".join(paragraphs(article.body))
