"""Configuration read from ``KOE_*`` environment variables; nothing is required."""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"KOE_{name}")
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _ice_servers(value: str) -> tuple[str, ...]:
    urls = tuple(url for url in re.split(r"[\s,]+", value) if url)
    for url in urls:
        if not re.fullmatch(r"(stun|turns?):[^\s?#]+(\?transport=(udp|tcp))?", url):
            raise ValueError(f"KOE_ICE_SERVERS entry {url!r} is not a stun:, turn: or turns: URL")
    return urls


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def load_secret_key(instance_path: Path) -> str:
    """Return KOE_SECRET_KEY, or a key generated once and kept in instance/secret_key."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


DEFAULT_AREAS = (
    "north:北部地区:North district;central:中部地区:Central district;"
    "south:南部地区:South district;east:東部地区:East district;west:西部地区:West district"
)


def parse_areas(spec: str) -> tuple[tuple[str, str, str], ...]:
    """Parse ``code:ja:en;...`` into (code, Japanese name, English name) triples."""
    areas = []
    for item in spec.split(";"):
        parts = [p.strip() for p in item.split(":")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"KOE_WARD_AREAS entry {item!r} is not code:日本語:English")
        areas.append((parts[0], parts[1], parts[2]))
    return tuple(areas)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Config:
    """Settings for one application instance, read from the environment when created."""

    def __init__(self, instance_path: Path | None = None) -> None:
        instance = Path(_env("INSTANCE_PATH", str(instance_path or DEFAULT_INSTANCE)))
        self.INSTANCE_PATH = str(instance)
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{instance / 'koe.sqlite3'}")
        # connections kept open per process: at least the threads of a web worker (gunicorn
        # --threads 8), else every request beyond the pool opens and closes a connection of
        # its own (a new PostgreSQL backend each time: the POST's slow tail under load)
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            "pool_size": _env_int("DB_POOL_SIZE", 10),
            "max_overflow": _env_int("DB_POOL_OVERFLOW", 10),
        }
        self.BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
        self.REDIS_URL = _env("REDIS_URL")
        self.PROXY_FIX = _env_int("PROXY_FIX", 0)  # number of trusted proxies in front

        # Sessions: server-side records (UserSession) back every login; the cookie only
        # carries a random token, so logout and password changes end sessions for real.
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_ABSOLUTE_HOURS", 12))
        self.SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 30)
        self.SESSION_ABSOLUTE_HOURS = _env_int("SESSION_ABSOLUTE_HOURS", 12)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        # consultation attachments (PDF): their own limit, and where they are kept
        self.ATTACHMENT_MAX_MB = _env_int("ATTACHMENT_MAX_MB", 20)
        # the largest file a form's question may take (each question may set less)
        self.FORM_UPLOAD_MAX_MB = _env_int("FORM_UPLOAD_MAX_MB", 10)
        self.UPLOAD_PATH = _env("UPLOAD_PATH", str(instance / "uploads"))
        # rendered page fragments kept per process (app/fragments.py); 0 turns the cache off
        self.FRAGMENT_CACHE_SIZE = _env_int("FRAGMENT_CACHE_SIZE", 2000)

        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
        self.WTF_CSRF_SSL_STRICT = True

        self.BABEL_DEFAULT_LOCALE = "ja"
        self.BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
        self.LANGUAGES = ("ja", "en")

        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", self.REDIS_URL or "memory://")
        self.RATELIMIT_KEY_PREFIX = _env("RATELIMIT_KEY_PREFIX", "koe")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_LIMIT_IP = _env("LOGIN_LIMIT_IP", "20 per 10 minutes")
        self.LOGIN_LIMIT_ACCOUNT = _env("LOGIN_LIMIT_ACCOUNT", "5 per 10 minutes")
        self.REGISTER_LIMIT_IP = _env("REGISTER_LIMIT_IP", "10 per hour")
        self.REGISTER_LIMIT_ACCOUNT = _env("REGISTER_LIMIT_ACCOUNT", "3 per hour")
        self.RESEND_LIMIT_ACCOUNT = _env("RESEND_LIMIT_ACCOUNT", "3 per hour")
        self.RESET_LIMIT_IP = _env("RESET_LIMIT_IP", "10 per hour")
        self.RESET_LIMIT_ACCOUNT = _env("RESET_LIMIT_ACCOUNT", "3 per hour")
        # wrong current passwords (change of address or password, deletion), per account
        self.PASSWORD_CHECK_LIMIT = _env("PASSWORD_CHECK_LIMIT", "5 per 10 minutes")
        self.API_RATE_LIMIT = _env("API_RATE_LIMIT", "300 per minute")  # /api/v1/, per address
        # finished background jobs are deleted after these many days (the worker, hourly)
        self.JOBS_RETENTION_DAYS = _env_int("JOBS_RETENTION_DAYS", 7)
        self.JOBS_FAILED_RETENTION_DAYS = _env_int("JOBS_FAILED_RETENTION_DAYS", 30)
        # sending a form's pages, per address (a ward's office may share one address)
        self.FORM_LIMIT_IP = _env("FORM_LIMIT_IP", "200 per minute")

        self.MAIL_SERVER = _env("MAIL_SERVER")
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
        self.MAIL_SENDER = _env("MAIL_SENDER", "Koe <no-reply@koe.example.jp>")

        # Open reports from this many people hide a published item until a moderator decides.
        self.REPORT_HIDE_THRESHOLD = _env_int("REPORT_HIDE_THRESHOLD", 3)
        # Socket.IO: "threading" for the development server and tests, "gevent" under
        # gunicorn's gevent workers.
        self.SOCKETIO_ASYNC_MODE = _env("SOCKETIO_ASYNC_MODE", "threading")
        # the Redis channel the web processes of one site share (one per site on a server)
        self.SOCKETIO_CHANNEL = _env("SOCKETIO_CHANNEL", "koe-socketio")
        # Chat: at most this many messages per person in this many seconds (floods).
        self.CHAT_RATE = (_env_int("CHAT_RATE_COUNT", 5), _env_int("CHAT_RATE_SECONDS", 10))
        # Socket events per connection, by kind (realtime.pace): overrides of its defaults,
        # e.g. {"join": (4, 10)} for 4 at once, then 4 per 10 seconds
        self.SOCKET_EVENT_RATES: dict[str, tuple[int, float]] = {}
        # The media service (realtime/media): its address as browsers reach it, and the origins
        # pages may fetch live video from (it, and any external engine's: space-separated).
        self.MEDIA_URL = _env("MEDIA_URL", "http://127.0.0.1:5001").rstrip("/")
        self.MEDIA_ORIGINS = tuple(
            dict.fromkeys([_origin(self.MEDIA_URL), *(_env("MEDIA_EXTRA_ORIGINS", "").split())])
        )
        # where the media service writes HLS and recordings (the demo's recording goes there)
        self.MEDIA_ROOT = _env("MEDIA_ROOT", str(instance / "media"))
        # the secret shared with it (default: derived from the secret key, see realtime.media)
        self.MEDIA_SECRET = _env("MEDIA_SECRET")
        # STUN/TURN servers the browsers use to reach the media service (stun:, turn: and turns:
        # URLs, space- or comma-separated; none by default: fine while the media service has an
        # address every browser reaches over UDP). TURN needs the secret the TURN server
        # shares (coturn's static-auth-secret): each media token then comes with credentials
        # of its own, valid for TURN_TTL seconds.
        self.ICE_SERVERS = _ice_servers(_env("ICE_SERVERS", ""))
        self.TURN_SECRET = _env("TURN_SECRET")
        self.TURN_TTL = _env_int("TURN_TTL", 12 * 3600)
        if any(url.startswith("turn") for url in self.ICE_SERVERS) and not self.TURN_SECRET:
            raise ValueError("KOE_ICE_SERVERS names a TURN server: set KOE_TURN_SECRET too")
        # a live stream the media service has not reported for this long has ended (the
        # service repeats "live" every KOE_MEDIA_REPORT_SECONDS, 10 by default)
        self.MEDIA_SILENT_SECONDS = _env_int("MEDIA_SILENT_SECONDS", 60)
        # the origins whose players an event may embed (an external engine's page, such as
        # https://www.youtube-nocookie.com): none unless set, as each is a third party
        self.EMBED_ORIGINS = tuple(
            origin
            for origin in (_origin(x).lower() for x in _env("EMBED_ORIGINS", "").split())
            if origin.startswith("https://") and len(origin) > len("https://")
        )
        self.VERIFY_TOKEN_HOURS = _env_int("VERIFY_TOKEN_HOURS", 48)
        self.RESET_TOKEN_MINUTES = _env_int("RESET_TOKEN_MINUTES", 60)
        # Argon2id cost; the defaults follow argon2-cffi's RFC 9106 low-memory profile.
        self.ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_KIB = _env_int("ARGON2_MEMORY_KIB", 65536)
        # The ward's areas for profiles: "code:日本語:English;..." (the default is a sample ward).
        self.WARD_AREAS = parse_areas(_env("WARD_AREAS", DEFAULT_AREAS))

    def update(self, overrides: dict | None) -> Config:
        """Apply overrides (tests pass some), then derive the settings that follow from others."""
        overrides = overrides or {}
        for key, value in overrides.items():
            setattr(self, key, value)
        https = self.BASE_URL.startswith("https://")
        derived = {
            # Over HTTPS the cookie is Secure and __Host- prefixed (no Domain, Path=/).
            "SESSION_COOKIE_NAME": "__Host-koe_session" if https else "koe_session",
            "SESSION_COOKIE_SECURE": https,
            "PREFERRED_URL_SCHEME": "https" if https else "http",
            # Without an SMTP server, mail is kept in the dev outbox that admins can read.
            "MAIL_BACKEND": "smtp" if self.MAIL_SERVER else "outbox",
        }
        for key, value in derived.items():
            if key not in overrides:
                setattr(self, key, value)
        return self
