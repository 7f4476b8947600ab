"""Language choice and display of dates in Asia/Tokyo."""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names
from flask import Flask, current_app, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale
from flask_login import current_user
from markupsafe import Markup
from wtforms.fields import SelectChoice

from app.timeutil import to_tokyo
from app.validators import one_of
from moderation import linkify_text

TEXT_SIZES = ("normal", "large", "larger")


def select_locale() -> str:
    """Choose the page language: the session's choice, the account's, then the browser's."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def tokyo_datetime(value: datetime | str | None, fmt: str = "medium") -> str:
    """Format a datetime (aware, UTC-naive or ISO text) in Asia/Tokyo for the current locale."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(to_tokyo(value), fmt)


def tokyo_time(value: datetime | str) -> str:
    """The time of day in Asia/Tokyo (09:30): a calendar cell, a chat line."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_time(to_tokyo(value), "HH:mm")


def month_name(value: datetime) -> str:
    """A month and its year as the locale writes them: 2026年12月, December 2026."""
    return format_date(value, "MMMM y" if str(get_locale()) == "en" else "y年M月")


def weekday_names() -> list[tuple[str, str]]:
    """(short, full) names of the days, Monday first, in the page language."""
    short = get_day_names("abbreviated", locale=get_locale())
    full = get_day_names("wide", locale=get_locale())
    return [(short[i], full[i]) for i in range(7)]


def use_area_choices(field, empty_label, message=None) -> None:
    """Offer the ward's areas (in the page language) in a select field, and accept only them."""
    japanese = str(get_locale()) == "ja"
    areas = current_app.config["WARD_AREAS"]
    field.choices = [SelectChoice("", empty_label)] + [
        SelectChoice(code, ja if japanese else en) for code, ja, en in areas
    ]
    # None: the field was not sent at all (an older form, a script); it means "not given".
    field.validators = [one_of(["", None, *(code for code, _ja, _en in areas)], message)]


def area_name(code: str | None) -> str:
    """Return the name of a ward area in the current language."""
    for area_code, ja, en in current_app.config["WARD_AREAS"]:
        if area_code == code:
            return ja if str(get_locale()) == "ja" else en
    return code or ""


def filesize(size: int) -> str:
    """A file size as people read it: 350 KB, 1.2 MB (numbers in the page's locale)."""
    if size < 1024 * 1024:
        return f"{format_decimal(max(size // 1024, 1))} KB"
    return f"{format_decimal(round(size / 1024 / 1024, 1), format='#,##0.0')} MB"


def linkify(text: str | None) -> Markup:
    """Residents' plain text as HTML: escaped, with http(s) links made clickable."""
    return Markup(linkify_text(text or ""))  # noqa: S704  (linkify_text escapes everything first)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["linkify"] = linkify
    app.jinja_env.filters["filesize"] = filesize
    app.jinja_env.filters["tokyo"] = tokyo_datetime
    app.jinja_env.filters["area_name"] = area_name
    app.jinja_env.filters["tokyo_time"] = tokyo_time
    app.jinja_env.filters["month_name"] = month_name
    app.jinja_env.globals["weekday_names"] = weekday_names
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["TEXT_SIZES"] = TEXT_SIZES
    app.jinja_env.add_extension("jinja2.ext.i18n")
