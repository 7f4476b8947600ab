"""Safe HTML: residents' plain text is escaped and linkified; staff rich text is allow-listed."""

from __future__ import annotations

from functools import partial
from html import escape

import bleach
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset(
    {
        "a", "p", "br", "strong", "em", "b", "i", "u", "s", "ul", "ol", "li", "h2", "h3", "h4",
        "blockquote", "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td", "caption",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "th": ["scope", "colspan", "rowspan"],
                      "td": ["colspan", "rowspan"]}  # fmt: skip
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
REL = "nofollow noopener ugc"


def _set_rel(attrs: dict, new: bool = False) -> dict | None:
    href = attrs.get((None, "href"), "")
    if not href:
        return attrs
    attrs[(None, "rel")] = REL
    attrs.pop((None, "target"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})],
)
_linker = bleach.Linker(callbacks=[_set_rel], parse_email=False)


def sanitize_html(html: str) -> str:
    """Clean staff-written HTML down to the allow-list; links get rel="nofollow noopener ugc".

    Repeated until it no longer changes, so cleaning a clean text changes nothing.
    """
    cleaned = html
    for _ in range(4):
        again = _cleaner.clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return cleaned


def linkify_text(text: str) -> str:
    """Render residents' plain text as HTML: everything escaped, http(s) links clickable."""
    return _linker.linkify(escape(text, quote=True))
