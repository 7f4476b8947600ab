"""Residents' text is escaped and linkified; staff HTML is cleaned to a small allow-list."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import linkify_text, sanitize_html


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        "<svg><script>alert(1)</script></svg>",
        "<math><mi>x</mi></math>",
        "<iframe src=https://evil.example></iframe>",
        "<style>body{display:none}</style>",
        '<p style="position:fixed">x</p>',
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<textarea></textarea><xmp></xmp><title>x</title>",
        "<!-- <script>alert(1)</script> -->",
    ],
)
def test_rich_text_loses_everything_dangerous(dangerous):
    cleaned = sanitize_html(dangerous)
    lowered = cleaned.lower()
    for bad in (
        "<script",
        "onerror",
        "javascript:",
        "data:",
        "<svg",
        "<math",
        "<iframe",
        "<style",
        "style=",
        "<noscript",
        "<textarea",
        "<xmp",
        "<title",
        "<!--",
        "<img",
    ):
        assert bad not in lowered, (dangerous, cleaned)


def test_rich_text_keeps_the_allow_list_and_marks_links():
    html = (
        '<h2>概要</h2><p><strong>重要</strong>な<a href="https://www.city.example.lg.jp/">'
        'お知らせ</a>と<a href="mailto:info@city.example.lg.jp">問い合わせ</a></p>'
        '<ul><li>一</li></ul><table><tr><th scope="col">項目</th></tr></table>'
    )
    cleaned = sanitize_html(html)
    assert "<h2>概要</h2>" in cleaned and "<strong>重要</strong>" in cleaned
    assert 'href="https://www.city.example.lg.jp/" rel="nofollow noopener ugc"' in cleaned
    assert 'href="mailto:info@city.example.lg.jp"' in cleaned
    assert '<th scope="col">' in cleaned


def test_plain_text_is_escaped_and_links_are_safe():
    html = linkify_text('<b>詳しくは</b> https://koe.example.jp/?a=1&b=2 "まで"')
    assert html.startswith("&lt;b&gt;詳しくは&lt;/b&gt;")
    assert '<a href="https://koe.example.jp/?a=1&amp;b=2" rel="nofollow noopener ugc">' in html
    assert "&#x27;" in linkify_text("'") or "&#39;" in linkify_text("'")
    assert "<a" not in linkify_text("javascript:alert(1)")


PIECES = [
    *"<>/=\"' ab&;#:.\n",
    "<a ",
    "<p>",
    "</p>",
    "<script>",
    "href=",
    "https://e.jp",
    "javascript:",
    "<!--",
    "-->",
    "&amp;",
    "<svg>",
    "<b>",
    "</b>",
    "<pre>",
    "<table>",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join) | st.text())
def test_sanitising_is_idempotent(html):
    once = sanitize_html(html)
    assert sanitize_html(once) == once


OUR_LINK = re.compile(r'<a href="https?://[^"<>]*" rel="nofollow noopener ugc">|</a>')


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_linkified_text_has_no_markup_but_our_links(text):
    assert "<" not in OUR_LINK.sub("", linkify_text(text))


def test_linkify_is_safe_across_threads():
    """bleach's parser keeps state; a threaded server calls it from many threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        f"意見{i}です。詳しくは https://example.jp/{i} を <見て> ください。" for i in range(400)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(linkify_text, texts))
    for i, html in enumerate(results):
        assert f'href="https://example.jp/{i}"' in html and f"意見{i}です" in html
        assert "&lt;見て&gt;" in html


def test_text_without_a_dot_skips_the_parser_and_is_escaped():
    assert (
        linkify_text("<b>太字</b> & 'quote'") == "&lt;b&gt;太字&lt;/b&gt; &amp; &#x27;quote&#x27;"
    )
