"""Safe HTML: residents' plain text is escaped and linkified; staff rich text is allow-listed."""

from __future__ import annotations

import threading
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


# bleach's Cleaner and Linker keep the state of their HTML parser between calls: shared by the
# threads of a threaded server they mix up texts and fail. One of each per thread.
_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    if not hasattr(_local, "cleaner"):
        _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
            filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})],
        )
    return _local.cleaner


def _linker() -> bleach.Linker:
    if not hasattr(_local, "linker"):
        _local.linker = bleach.Linker(callbacks=[_set_rel], parse_email=False)
    return _local.linker


def sanitize_html(html: str) -> str:
    """Clean staff-written HTML down to the allow-list; links get rel="nofollow noopener ugc".

    Repeated until it no longer changes, so cleaning a clean text changes nothing.
    """
    cleaned = html
    for _ in range(4):
        again = _cleaner().clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return cleaned


def linkify_text(text: str) -> str:
    """Render residents' plain text as HTML: everything escaped, http(s) links clickable."""
    escaped = escape(text, quote=True)
    if "." not in escaped:  # every link has a dot: most opinions need no HTML parser at all
        return escaped
    return _linker().linkify(escaped)
