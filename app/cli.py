"""The ``flask koe`` command group: demo data and account administration."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.account.models import Profile
from app.auth import operations
from app.auth.models import Role, User
from app.auth.passwords import password_problem
from app.extensions import db
from app.moderation import operations as moderation_ops

koe = AppGroup("koe", help="Koe administration commands.")

DEMO_PASSWORD = "koe-demo-2026"  # noqa: S105  (printed for the local demo; never in production)
DEMO_USERS = (
    ("admin@demo.koe.example", "管理者 花子", Role.ADMIN),
    ("staff@demo.koe.example", "政策企画課 佐藤", Role.STAFF),
    ("moderator@demo.koe.example", "モデレーター 鈴木", Role.MODERATOR),
    ("resident@demo.koe.example", "区民 田中", Role.RESIDENT),
)
# Residents whose display names give the demo moderator something to decide.
DEMO_HELD_NAMES = (
    ("yamamoto@demo.koe.example", "山本（連絡は090-1111-2222まで）"),
    ("kawada@demo.koe.example", "ばか正直な川田"),
)


@koe.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
def seed_demo(if_empty: bool) -> None:
    """Create the Japanese demo accounts and content, then print how to sign in."""
    has_users = db.session.scalar(select(func.count()).select_from(User)) > 0
    if not (if_empty and has_users):
        for email, name, role in DEMO_USERS:
            if operations.find_by_email(email) is None:
                user = operations.create_user(name, email, DEMO_PASSWORD, role)
                record_name(user)
                if role == Role.RESIDENT:
                    db.session.add(
                        Profile(
                            user=user,
                            full_name="田中 一郎",
                            furigana="たなか いちろう",
                            postal_code="123-4567",
                            address="東京都声区中央一丁目1番1号",
                            phone="03-1234-5678",
                            birth_year=1980,
                            area=current_app.config["WARD_AREAS"][0][0],
                        )
                    )
        for email, name in DEMO_HELD_NAMES:
            if operations.find_by_email(email) is None:
                record_name(operations.create_user(name, email, DEMO_PASSWORD, Role.RESIDENT))
        db.session.commit()
    click.echo(f"\nKoe: {current_app.config['BASE_URL']}")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, name, role in DEMO_USERS:
        click.echo(f"  {role.value:<10} {email:<28} {name}")
    click.echo("")


def record_name(user: User) -> None:
    """Put a demo display name through moderation, as registration does."""
    result = moderation_ops.scan_text(user.display_name, user, spam=False)
    moderation_ops.record(moderation_ops.DISPLAY_NAME, user.id, user, result)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise click.BadParameter(f"choose one of {', '.join(r.value for r in Role)}") from None


@koe.command("create-user")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option(
    "--role", default="resident", show_default=True, help="resident, moderator, staff or admin."
)
@click.password_option(help="Asked for when not given.")
def create_user(email: str, display_name: str, role: str, password: str) -> None:
    """Create a verified account with a role."""
    chosen = _role(role)
    if operations.find_by_email(email) is not None:
        raise click.ClickException(f"an account with {email} exists")
    problem = password_problem(password, email=email, display_name=display_name)
    if problem:
        raise click.ClickException(problem)
    user = operations.create_user(display_name, email, password, chosen)
    db.session.commit()
    click.echo(f"created user {user.id} ({chosen.value})")


@koe.command("set-role")
@click.argument("email")
@click.argument("role")
def set_role(email: str, role: str) -> None:
    """Give an existing account another role."""
    chosen = _role(role)
    user = operations.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with {email}")
    operations.set_role(user, chosen)
    db.session.commit()
    click.echo(f"user {user.id} is now {chosen.value}")


def init_app(app: Flask) -> None:
    app.cli.add_command(koe)
