"""Flask extensions, created unbound; ``create_app`` binds them with ``init_app``."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Alembic needs stable constraint names to alter and drop them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def db_enum(cls, name: str) -> Enum:
    """A column of a Python enum stored by its values (as migrations write them), named
    ``name`` (PostgreSQL's type)."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e])


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Make SQLite enforce foreign keys (ON DELETE CASCADE) and let readers run beside a writer."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # with WAL, NORMAL never corrupts the database (SQLite's advice): a commit waits for
        # the disk at checkpoints, not every time; a power cut may lose the last commits
        cursor.execute("PRAGMA synchronous=NORMAL")
        # a writer waits its turn (up to 30 s, as in a burst before closing) rather than fail
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
