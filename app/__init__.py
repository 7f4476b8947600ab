"""Koe (声): the Flask application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.config import PROJECT_ROOT, Config, load_secret_key
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


class DatabaseId(IntegerConverter):
    """``<int:...>`` in URLs: only numbers a database key can hold; a larger one is a 404."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict | None = None) -> Flask:
    """Create and wire the application; no migrations, writes or network calls here."""
    settings = Config().update(config)
    app = Flask(
        __name__,
        instance_path=settings.INSTANCE_PATH,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(settings)
    _fit_pool(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(Path(app.instance_path))
    if app.config["PROXY_FIX"]:
        n = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    app.url_map.converters["int"] = DatabaseId
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    return app


def _fit_pool(app: Flask) -> None:
    """An in-memory SQLite database is one connection (Flask-SQLAlchemy's StaticPool), which
    takes no pool size."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.pop("pool_size", None)
        options.pop("max_overflow", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_extensions(app: Flask) -> None:
    from app import i18n, models, security  # noqa: F401  (models: the schema, for Alembic)
    from app.auth import sessions

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    app.before_request(security.body_limit)  # before CSRFProtect reads a form
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(PROJECT_ROOT / "app" / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    sessions.init_login_manager(login_manager)


def register_blueprints(app: Flask) -> None:
    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.consultations import bp as consultations_bp
    from app.events import bp as events_bp
    from app.forms import bp as forms_bp
    from app.main import bp as main_bp
    from app.moderation import bp as moderation_bp
    from app.notifications import bp as notifications_bp
    from app.themes import bp as themes_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(moderation_bp, url_prefix="/moderation")
    app.register_blueprint(consultations_bp, url_prefix="/consultations")
    app.register_blueprint(themes_bp, url_prefix="/consultations")
    app.register_blueprint(forms_bp, url_prefix="/forms")
    app.register_blueprint(events_bp, url_prefix="/events")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")


def register_hooks(app: Flask) -> None:
    from app import audit_labels, cli, errors, fragments, i18n, security

    security.init_app(app)
    i18n.init_app(app)
    audit_labels.init_app(app)
    fragments.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    import realtime

    realtime.init_app(app)
