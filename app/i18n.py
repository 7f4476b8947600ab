"""Language choice and display of dates in Asia/Tokyo."""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names
from flask import Flask, current_app, request, session
from flask_babel import format_date, format_datetime, format_decimal, get_locale
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


def _as_datetime(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _japanese(local: datetime, *, year: bool = True, date: bool = True) -> str:
    weekday = get_day_names("abbreviated", locale="ja")[local.weekday()]
    day = f"{local.month}月{local.day}日({weekday})"
    if year:
        day = f"{local.year}年{day}"
    clock = f"{local.hour}:{local.minute:02d}"
    return f"{day} {clock}" if date else clock


def _english(local: datetime, *, year: bool = True, date: bool = True) -> str:
    if not date:
        return format_datetime(local, "HH:mm", rebase=False)
    pattern = "EEE d MMM y, HH:mm" if year else "EEE d MMM, HH:mm"
    return format_datetime(local, pattern, rebase=False)


def _writer():
    return _japanese if str(get_locale()).startswith("ja") else _english


def tokyo_datetime(value: datetime | str | None) -> str:
    """A moment in Asia/Tokyo, the one way Koe writes it: 2026年12月7日(月) 23:12,
    Mon 7 Dec 2026, 23:12 (no seconds, no zone name: the ward is in Tokyo)."""
    if value is None:
        return ""
    return _writer()(to_tokyo(_as_datetime(value)))


def tokyo_range(start: datetime | str, end: datetime | str | None) -> str:
    """A span in Asia/Tokyo, the end shortened to what differs from the start:
    2026年12月7日(月) 23:12～12月8日(火) 1:09; Mon 7 Dec 2026, 23:12 – Tue 8 Dec, 01:09 (JST)."""
    write = _writer()
    first = to_tokyo(_as_datetime(start))
    if end is None:
        return write(first)
    last = to_tokyo(_as_datetime(end))
    same_day = first.date() == last.date()
    tail = write(last, year=first.year != last.year, date=not same_day)
    if write is _japanese:
        return f"{write(first)}～{tail}"
    return f"{write(first)} – {tail} (JST)"


def tokyo_time(value: datetime | str) -> str:
    """The time of day in Asia/Tokyo as times are written elsewhere (9:30; 09:30 in English):
    a calendar cell, a chat line."""
    return _writer()(to_tokyo(_as_datetime(value)), date=False)


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
    app.jinja_env.globals["tokyo_range"] = tokyo_range
    app.jinja_env.filters["area_name"] = area_name
    app.jinja_env.filters["tokyo_time"] = tokyo_time
    app.jinja_env.filters["month_name"] = month_name
    app.jinja_env.globals["weekday_names"] = weekday_names
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["TEXT_SIZES"] = TEXT_SIZES
    app.jinja_env.add_extension("jinja2.ext.i18n")
