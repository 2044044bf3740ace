"""Formats an article for a target: a pure Jinja2 render, kept apart from sending it."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from publishers.base import Article

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def paragraphs(body: str) -> list[str]:
    """Split the reporter's text into paragraphs: blank lines, or single lines when none exist."""
    blocks = [block.strip() for block in body.replace("\r\n", "\n").split("\n\n")]
    blocks = [block for block in blocks if block]
    if len(blocks) == 1:
        blocks = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    return blocks


def render_article_html(article: Article, *, photo_urls: list[str]) -> str:
    """The standalone HTML page of an article (the folder target's archive copy)."""
    return _ENV.get_template("article.html.j2").render(
        article=article, paragraphs=paragraphs(article.body), photo_urls=photo_urls
    )


_TEXT_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # plain text; whoever shows it escapes it for its medium
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_package(article: Article) -> str:
    """A ready-to-paste package for a site without an API: title, body, photo captions."""
    return _TEXT_ENV.get_template("package.txt.j2").render(
        article=article, paragraphs=paragraphs(article.body)
    )
