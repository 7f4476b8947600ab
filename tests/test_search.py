"""Search finds what people mean: ゴミ finds ごみ (and ｺﾞﾐ), こうえん finds 公園, in
consultations, their published opinions and events; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from tests.conftest import create_open_consultation, post_form
from tests.test_consultations import form_data, send
from tests.test_events import create, staff_client  # noqa: F401  (a fixture)


@pytest.fixture
def parks(db, make_user):
    """The parks consultation (公園, 遊具, 照明), open."""
    return create_open_consultation(make_user(role=Role.STAFF))


def found(client, path: str, query: str, text: str) -> bool:
    html = client.get(path, query_string={"q": query}).get_data(as_text=True)
    return text in html


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("公園", True),
        ("こうえん", True),  # the reading of 公園
        ("コウエン", True),
        ("ｺｳｴﾝ", True),  # half-width katakana
        ("しょうめい 遊具", True),  # every word, each as read or as written
        ("としょかん", False),
        ("こうえん としょかん", False),
    ],
)
def test_consultations_by_kana_and_reading(client, parks, query, hit):
    assert found(client, "/consultations/", query, "声区公園整備計画") is hit


def test_opinions_by_kana_and_reading(client, db, parks, logged_in):
    logged_in()
    assert send(client, parks, "ゴミ箱がいつもあふれています。").status_code == 302
    assert send(client, parks, "ベンチを増やしてほしいです。").status_code == 302
    path = f"/consultations/{parks.id}"
    for query in ("ごみ", "ゴミ", "ｺﾞﾐ", "ごみばこ", "ゴミ箱"):
        html = client.get(path, query_string={"q": query}).get_data(as_text=True)
        assert "ゴミ箱がいつもあふれています。" in html, query
        assert "ベンチを増やしてほしいです。" not in html, query
    html = client.get(path, query_string={"q": "図書館"}).get_data(as_text=True)
    assert "ゴミ箱" not in html and "一致する" in html
    # without a query, both
    html = client.get(path).get_data(as_text=True)
    assert "ゴミ箱がいつもあふれています。" in html and "ベンチを増やしてほしいです。" in html


def test_events_by_kana_and_reading(app, db, staff_client):  # noqa: F811
    create(staff_client, title="公園のごみ拾いボランティア説明会", description="", speakers="")
    create(staff_client, title="図書館の読み聞かせ講座", description="", speakers="")
    resident = app.test_client()
    for query in ("こうえん", "ゴミ", "ボランティア", "ぼらんてぃあ"):
        assert found(resident, "/events/", query, "ごみ拾いボランティア説明会"), query
        assert not found(resident, "/events/", query, "読み聞かせ講座"), query
    assert found(resident, "/events/", "としょかん", "読み聞かせ講座")


def test_a_consultation_staff_write_is_found_at_once(client, db, logged_in):
    logged_in(Role.STAFF)
    data = form_data(
        title="ごみの分け方・出し方の見直し（案）", summary="資源ゴミの回収を週2回にします。"
    )
    assert (
        post_form(client, "/consultations/new", data, page="/consultations/new").status_code == 302
    )
    for query in ("ゴミ", "ごみ", "しげん", "資源", "かいしゅう"):
        assert found(client, "/consultations/", query, "ごみの分け方・出し方の見直し"), query
    assert not found(client, "/consultations/", "としょかん", "ごみの分け方・出し方の見直し")
