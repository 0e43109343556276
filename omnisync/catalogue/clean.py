"""Description cleaning: a catalogue description written in HTML, as plain text for the channels that
take no HTML (Amazon, Meta, Square). Pure.

Block elements end a line, list items become ``• `` bullets, scripts and styles are dropped with their
content, entities are decoded, runs of spaces collapse and at most one blank line separates blocks.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "section",
        "article",
    }
)
_DROP = frozenset({"script", "style", "head", "title", "template"})
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self._dropping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self._dropping = max(0, self._dropping - 1)
        elif tag in _BLOCK and tag != "li":  # a list item ends where the next begins
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.parts.append(data)


def has_html(text: str) -> bool:
    """Whether ``text`` holds an HTML tag."""
    return _TAG.search(text) is not None


def html_to_text(text: str) -> str:
    """The text a reader sees in ``text`` rendered as HTML (plain text comes back tidied)."""
    parser = _Text()
    parser.feed(text if has_html(text) else text.replace("\r\n", "\n"))
    parser.close()
    joined = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in joined.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
