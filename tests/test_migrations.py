"""The migrations build exactly the schema the models declare, and every downgrade works.

Runs on its own scratch database: SQLite, or a fresh PostgreSQL database when
KOE_TEST_DATABASE_URL is set (PostgreSQL is stricter: enum types, batch operations).
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, text

from app import create_app
from app.extensions import db


@contextmanager
def scratch_database(tmp_path):
    server = os.environ.get("KOE_TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = make_url(server)
    name = f"koe_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_matches_the_models_and_downgrades_to_nothing(tmp_path):
    with scratch_database(tmp_path) as url:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
        )
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert differences == [], "the models and the migrations differ"
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            if db.engine.dialect.name == "postgresql":
                with db.engine.connect() as conn:
                    enums = conn.execute(text("SELECT typname FROM pg_type WHERE typtype = 'e'"))
                    assert enums.all() == [], "a downgrade left an enum type behind"
            upgrade()  # and up again from nothing
            db.engine.dispose()
