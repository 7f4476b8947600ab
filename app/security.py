"""Security headers with a per-request CSP nonce, safe redirects, and rate limits that count
only the attempts that matter."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, request, url_for


def csp_nonce() -> str:
    """Return this request's CSP nonce (templates put it on every <script>)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(
    nonce: str, media_origins: tuple[str, ...] = (), embed_origins: tuple[str, ...] = ()
) -> str:
    """The policy; ``media_origins``: where the live video comes from (the media service,
    an external engine), which pages may fetch (WHIP, WHEP, HLS) and play; ``embed_origins``:
    the external players an event may embed."""
    media = "".join(f" {origin}" for origin in media_origins)
    embeds = "".join(f" {origin}" for origin in embed_origins)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{media}",
            f"media-src 'self' blob:{media}",
            f"frame-src 'self'{embeds}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(
        csp_nonce(), current_app.config["MEDIA_ORIGINS"], current_app.config["EMBED_ORIGINS"]
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "geolocation=(), payment=(), usb=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # Pages that may show personal data must not be kept by shared caches or the back button.
    if not request.path.startswith("/static/") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    headers.setdefault("Vary", "Cookie")
    return response


#: endpoints that take files, and the setting (in MB) that limits their request body
UPLOAD_LIMITS = {
    "consultations.manage_attachments": "ATTACHMENT_MAX_MB",
    "forms.fill": "FORM_UPLOAD_MAX_MB",
}


def body_limit() -> None:
    """Let upload pages take bigger bodies than the site's limit (MAX_CONTENT_LENGTH).

    Runs before CSRF protection reads the form, so it is registered before CSRFProtect.
    """
    setting = UPLOAD_LIMITS.get(request.endpoint or "")
    if setting:
        # room for the rest of the form around the file
        request.max_content_length = (current_app.config[setting] + 1) * 1024 * 1024


def count_attempt() -> None:
    """Count this request against the limits of its route that are ``deduct_when=counted``: a
    wrong password, or a registration or reset request that did its work (a mail). Successful
    log-ins and typing mistakes never count, so a ward office behind one address is not locked
    out by its own staff."""
    g.rate_limit_counts = True


def counted(_response: Response) -> bool:
    """Whether ``count_attempt()`` was called in this request (Flask-Limiter's deduct_when)."""
    return g.get("rate_limit_counts", False)


def safe_next(target: str | None, fallback: str = "main.index") -> str:
    """Return ``target`` if it is a path on this site, else the URL of ``fallback``."""
    if target:
        target = target.strip()
        parts = urlsplit(target)
        if (
            target.startswith("/")
            and not target.startswith(("//", "/\\"))
            and not parts.scheme
            and not parts.netloc
            and "\\" not in target
            and not any(ord(c) < 32 for c in target)
        ):
            return target
    return url_for(fallback)


_PAGE = re.compile(r"[1-9][0-9]{0,5}")


def check_page_number() -> None:
    """A page number on an HTML page is 1 to 999999 in ASCII digits, or the page is not found.

    Flask-SQLAlchemy reads ``page`` itself; a huge one would overflow the database's OFFSET.
    The API checks its own parameters and answers 400 in JSON.
    """
    page = request.args.get("page")
    if page is not None and not request.path.startswith("/api/") and not _PAGE.fullmatch(page):
        abort(404)


def init_app(app: Flask) -> None:
    app.before_request(check_page_number)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
