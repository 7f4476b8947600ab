"""The migrations build exactly the schema the models declare, and every downgrade works.

Runs on its own scratch database: SQLite, or a fresh PostgreSQL database when
KOE_TEST_DATABASE_URL is set (PostgreSQL is stricter: enum types, batch operations).
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from app import create_app
from app.auth import operations as auth_ops
from app.auth.models import Role
from app.consultations import operations as consultation_ops
from app.consultations.models import Opinion
from app.extensions import db
from moderation import scan
from tests.conftest import create_open_consultation, scratch_database


def scratch_app(url: str, tmp_path):
    """The app on a scratch database, nothing migrated yet."""
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"}
    )


def test_upgrade_matches_the_models_and_downgrades_to_nothing(tmp_path):
    with scratch_database(tmp_path, "koe_mig") as url:
        app = scratch_app(url, tmp_path)
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


def test_the_listed_flag_is_filled_in_for_opinions_already_there(tmp_path):
    """0010 computes opinions.listed from the moderation items of the opinions it finds."""
    with scratch_database(tmp_path, "koe_mig") as url:
        app = scratch_app(url, tmp_path)
        with app.app_context():
            upgrade()
            staff = auth_ops.create_user(
                "職員", "staff@example.jp", "a long pass phrase", Role.STAFF
            )
            resident = auth_ops.create_user(
                "区民", "resident@example.jp", "a long pass phrase", Role.RESIDENT
            )
            consultation = create_open_consultation(staff)
            texts = {
                "published": "公園の照明を増やしてほしいです。",
                "held": "電話は090-1234-5678までお願いします。",
                "withdrawn": "遊具の更新を早めてください。",
            }
            opinions = {}
            for label, body in texts.items():
                opinions[label], _ = consultation_ops.submit_opinion(
                    consultation, resident, scan(body)
                )
            consultation_ops.withdraw_opinion(opinions["withdrawn"], resident)
            db.session.commit()
            expected = {label: opinion.listed for label, opinion in opinions.items()}
            assert expected == {"published": True, "held": False, "withdrawn": False}
            ids = {label: opinion.id for label, opinion in opinions.items()}
            db.session.remove()  # no open transaction may hold the table the migrations alter

            downgrade(revision="0009")
            upgrade(revision="0010")
            listed = dict(db.session.execute(select(Opinion.id, Opinion.listed)).all())
            assert {label: listed[i] for label, i in ids.items()} == expected
            db.session.remove()
            db.engine.dispose()


def test_the_themes_and_copies_downgrades_keep_the_opinions_and_their_themes(tmp_path):
    """0028 and 0027 go down without rebuilding a parent table: on SQLite, dropping a rebuilt
    table deletes the rows that cascade from it (opinions from consultations, members from
    themes)."""
    from app.themes import operations as themes

    with scratch_database(tmp_path, "koe_mig") as url:
        app = scratch_app(url, tmp_path)
        with app.app_context():
            upgrade()
            staff = auth_ops.create_user(
                "職員", "staff@example.jp", "a long pass phrase", Role.STAFF
            )
            consultation = create_open_consultation(staff)
            texts = ["公園のベンチを増やして", "公園にベンチがほしい", "ベンチが足りない"]
            texts += ["ごみの分別が難しい", "ごみの出し方が分からない", "分別ルールを簡単に"]
            for n, body in enumerate(texts):
                resident = auth_ops.create_user(
                    "区民", f"r{n}@example.jp", "a long pass phrase", Role.RESIDENT
                )
                consultation_ops.submit_opinion(consultation, resident, scan(body))
            db.session.commit()
            run = themes.request_run(consultation, staff, 2, queue=False)
            db.session.commit()
            themes.execute(run.id)
            db.session.commit()

            def counted() -> list[int]:
                tables = ("opinions", "themes", "theme_members")
                count = "SELECT count(*) FROM {}"  # one of the three names above
                return [db.session.scalar(text(count.format(t))) for t in tables]

            before = counted()
            assert before == [6, 2, 6]
            db.session.remove()
            downgrade(revision="0026")
            assert counted() == before
            db.session.remove()
            upgrade()
            assert counted() == before
            db.session.remove()
            db.engine.dispose()


def test_the_search_keys_are_made_for_what_is_already_there(tmp_path):
    """0029 makes the search keys (app.search) of the consultations and opinions it finds: after
    the upgrade, こうえん finds the parks consultation and ごみ its opinion about ゴミ箱."""
    with scratch_database(tmp_path, "koe_mig") as url:
        app = scratch_app(url, tmp_path)
        with app.app_context():
            upgrade()
            staff = auth_ops.create_user(
                "職員", "staff@example.jp", "a long pass phrase", Role.STAFF
            )
            resident = auth_ops.create_user(
                "区民", "resident@example.jp", "a long pass phrase", Role.RESIDENT
            )
            consultation = create_open_consultation(staff)
            consultation_ops.submit_opinion(consultation, resident, scan("ゴミ箱を増やして。"))
            db.session.commit()
            consultation_id = consultation.id
            db.session.remove()

            downgrade(revision="0028")
            upgrade(revision="0029")
            client = app.test_client()
            listing = client.get("/consultations/?q=こうえん").get_data(as_text=True)
            assert "声区公園整備計画" in listing
            page = f"/consultations/{consultation_id}"
            assert "ゴミ箱を増やして" in client.get(f"{page}?q=ごみ").get_data(as_text=True)
            assert "ゴミ箱を増やして" not in client.get(f"{page}?q=遊具").get_data(as_text=True)
            db.session.remove()
            db.engine.dispose()
