"""Results pages link their open-data files (CSV and JSON); the public opinion list of a
consultation is filtered by section with a plain GET form (no JavaScript)."""

from __future__ import annotations

import html
import re

from app.auth.models import Role
from app.extensions import db as _db
from tests.conftest import create_open_consultation, post_form
from tests.test_results import answer, close, send, staff_client


def test_published_results_link_their_csv_and_json(app, client, db, make_user):
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    opinion = send(consultation, make_user(), "夜道が暗いので照明を増やしてください。")
    close(consultation)
    staff, _ = staff_client(app, make_user)
    assert answer(staff, consultation, [opinion.id]).status_code == 302
    results = f"/consultations/{consultation.id}/results"
    preview = staff.get(results).get_data(as_text=True)
    assert "/api/v1/" not in preview  # not before they are published: the API has nothing
    review = f"/consultations/{consultation.id}/review"
    post_form(staff, f"/consultations/{consultation.id}/publish", {"confirm": "yes"}, page=review)

    page = client.get(results).get_data(as_text=True)
    assert "結果のダウンロード" in page
    links = [html.unescape(u) for u in re.findall(r'<a href="(/api/v1/[^"]+)"', page)]
    csv_link = next(u for u in links if "format=csv" in u)
    json_link = next(u for u in links if "format=csv" not in u)
    got = client.get(csv_link)
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "夜道が暗いので照明を増やしてください。" in got.get_data(as_text=True)
    data = client.get(json_link).get_json()
    assert data["consultation"]["id"] == consultation.id and data["answers"]


def listed(page: str) -> list[str]:
    return re.findall(r'<p class="pre">([^<]+)</p>', page.split('id="opinions"', 1)[1])


def test_the_public_opinions_are_filtered_by_section_without_javascript(app, client, db, make_user):
    staff = make_user(role=Role.STAFF)
    consultation = create_open_consultation(staff)
    other = create_open_consultation(staff, title="別の計画（案）")
    first, _second, third = consultation.sections
    author = make_user()
    send(consultation, author, "総則について、目的をもっと分かりやすく。", section=first)
    send(consultation, author, "照明はLEDにしてください。", section=third)
    send(consultation, author, "全体として賛成です。")
    for n in range(21):
        send(consultation, author, f"第3章への意見その{n}です。", section=third)
    _db.session.commit()
    path = f"/consultations/{consultation.id}"

    page = client.get(path).get_data(as_text=True)
    form = re.search(r'<form method="get" action="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    assert form and form[1] == f"{path}#opinions" and 'name="section"' in form[2]

    only_first = client.get(f"{path}?section={first.id}").get_data(as_text=True)
    assert listed(only_first) == ["総則について、目的をもっと分かりやすく。"]
    assert f'<option value="{first.id}" selected>' in only_first
    whole = client.get(f"{path}?section=whole").get_data(as_text=True)
    assert listed(whole) == ["全体として賛成です。"]
    lights = client.get(f"{path}?section={third.id}").get_data(as_text=True)
    assert "22件の意見が公開されています" in lights
    assert len(listed(lights)) == 20
    assert f"section={third.id}" in re.search(r'<a href="([^"]+)" rel="next">', lights)[1]
    second_page = client.get(f"{path}?section={third.id}&page=2").get_data(as_text=True)
    assert len(listed(second_page)) == 2
    # anything else shows the whole list (never a 500): words, another consultation's section
    for value in ("abc", str(other.sections[0].id), "１", "-1"):
        response = client.get(f"{path}?section={value}")
        assert response.status_code == 200
        assert "24件の意見が公開されています" in response.get_data(as_text=True)
