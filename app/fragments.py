"""Rendered fragments of a page, kept per process and keyed by everything they show.

A busy page repeats the same pieces for every visitor: the consultation page renders twenty
opinions, each with its text, name, counts and forms, and that is most of its time. In a
template::

    {% call fragment("opinion", opinion.id, item.public_text, counts, ...) %}
      ... markup that depends on nothing but these values ...
    {% endcall %}

The key is the data itself (with the page language and the application root added), never a
version to bump: when a text is edited or a count changes, the key is new, so a fragment can
never be shown stale; ones no longer asked for fall out of the LRU. The body must not use
anything that is not in its key. The one per-visitor value a fragment may hold, the CSRF token
of its forms, is rendered as :data:`CSRF_INPUT` (a placeholder) and put in on the way out.
"""

from __future__ import annotations

import secrets
import threading

from cachetools import LRUCache
from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

#: a stand-in for the CSRF token, random per process: it cannot occur in any text shown
_TOKEN = f"csrf-{secrets.token_hex(16)}"
#: the CSRF field of a form inside a fragment
CSRF_INPUT = Markup(f'<input type="hidden" name="csrf_token" value="{_TOKEN}">')  # noqa: S704


class FragmentCache:
    """A thread-safe LRU of rendered fragments (size 0: render every time)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._fragments: LRUCache = LRUCache(maxsize=max(size, 1))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __call__(self, *key, caller) -> Markup:
        if self.size <= 0:
            return self._personal(caller())
        full = (str(get_locale()), request.script_root, *key)
        with self._lock:
            html = self._fragments.get(full)
            if html is not None:
                self.hits += 1
        if html is None:
            html = str(caller())  # outside the lock: other requests go on meanwhile
            with self._lock:
                self.misses += 1
                self._fragments[full] = html
        return self._personal(html)

    @staticmethod
    def _personal(html: str) -> Markup:
        if _TOKEN in html:
            html = html.replace(_TOKEN, str(escape(generate_csrf())))
        return Markup(html)  # noqa: S704  (rendered by Jinja with autoescape)

    def clear(self) -> None:
        with self._lock:
            self._fragments.clear()


def init_app(app: Flask) -> None:
    cache = FragmentCache(app.config["FRAGMENT_CACHE_SIZE"])
    app.extensions["koe_fragments"] = cache
    app.jinja_env.globals["fragment"] = cache
    app.jinja_env.globals["fragment_csrf_input"] = CSRF_INPUT


def cache() -> FragmentCache:
    return current_app.extensions["koe_fragments"]
