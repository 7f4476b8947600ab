"""Open data under /api/v1/: every answer is checked against app/api/openapi.yaml.

The data is built through the operations (moderation included), then read through HTTP only.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate as validate_spec

import moderation
from app.api.csvfile import safe_cell
from app.auth.models import Role
from app.consultations import operations, results
from app.consultations.models import Channel, Disposition, ReactionKind, State
from app.extensions import db as _db
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus
from tests.conftest import create_open_consultation, login

SPEC_PATH = Path(__file__).resolve().parent.parent / "app" / "api" / "openapi.yaml"
PHONE = "090-1234-5678"
EMAIL_IN_TEXT = "taro@example.jp"
FORMULA = '=HYPERLINK("http://example.com","x") 公園に時計を'


@pytest.fixture(scope="module")
def spec_dict():
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")  # CSV and YAML answers are text: they must decode


@pytest.fixture(scope="module")
def openapi(spec_dict):
    deserializers = {"text/csv": _text, "application/yaml": _text}
    return OpenAPI.from_dict(spec_dict, config=Config(extra_media_type_deserializers=deserializers))


def call(client, openapi, path: str, status: int = 200, **params):
    """GET ``path``, check the status, and validate the answer (and a good request) against
    the description."""
    response = client.get(path, query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    request = WerkzeugOpenAPIRequest(response.request)
    if status < 400:
        openapi.validate_request(request)
    openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
    return response


def rows_of(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "CSV for Excel starts with a UTF-8 BOM"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def send(consultation, author, text, section=None, **kwargs):
    opinion, _ = operations.submit_opinion(
        consultation, author, moderation.scan(text), section=section, **kwargs
    )
    _db.session.commit()
    return opinion


@pytest.fixture
def world(db, make_user):
    """An open consultation with every kind of opinion, a draft, a closed and a published one."""
    staff = make_user(role=Role.STAFF)
    moderator = make_user(role=Role.MODERATOR)
    hanako = make_user(display_name="区民 花子", email="hanako@example.jp")
    taro = make_user(display_name="区民 太郎", email="taro-account@example.jp")
    ken = make_user(display_name="健 090-1111-2222", email="ken@example.jp")
    # ken's display name waits for moderation: it is never published
    moderation_ops.record(
        moderation_ops.DISPLAY_NAME, ken.id, ken, moderation.scan("健 090-1111-2222")
    )
    _db.session.commit()

    parks = create_open_consultation(staff)
    playground = parks.sections[1]
    named = send(
        parks,
        hanako,
        "遊具を増やしてください。",
        section=playground,
        show_name=True,
        age_band="30s",
        area="north",
    )
    phone = send(parks, taro, f"詳しくは{PHONE}までお電話ください。", age_band="40s")
    held = send(parks, taro, f"連絡は {EMAIL_IN_TEXT} までお願いします。")
    withdrawn = send(parks, hanako, "やはり取り下げます。")
    formula = send(parks, taro, FORMULA)
    minus = send(parks, taro, "-賛成です。+1")
    hidden_name = send(parks, ken, "ベンチを増やしてほしい。", show_name=True)
    paper = operations.enter_opinion(
        parks, staff, moderation.scan("紙で出しました。"), channel=Channel.PAPER, age_band="70s"
    )
    _db.session.commit()
    assert operations.item_of(phone).status == ItemStatus.HELD
    moderation_ops.approve(operations.item_of(phone), moderator)
    operations.withdraw_opinion(withdrawn, hanako)
    operations.react(named, taro, ReactionKind.AGREE)
    operations.react(named, staff, ReactionKind.AGREE)
    operations.react(named, ken, ReactionKind.DISAGREE)
    _db.session.commit()

    draft = operations.save_consultation(
        None,
        operations.ConsultationData(
            title="非公開の下書き",
            summary="まだ公開しません。",
            department="総務課",
            contact="内線 100",
            topics="",
            area=None,
            opens_at=parks.opens_at,
            closes_at=parks.closes_at,
            draft="# 第1章\n下書きです。",
        ),
        staff,
    )
    _db.session.commit()

    closed = create_open_consultation(staff, title="声区図書館計画（案）")
    closed.move(State.CLOSED)
    _db.session.commit()

    lights = create_open_consultation(staff, title="声区防犯灯計画（案）、子育て")
    lights.topics = "防犯、子育て, 夜間"
    section = lights.sections[2]
    first = send(lights, hanako, "通学路の照明を先に増やしてください。", section=section)
    second = send(lights, taro, f"夜も暗いです。{PHONE}", section=section)
    third = send(lights, taro, "@全員 公園の名前を募集してほしいです。")
    moderation_ops.approve(operations.item_of(second), moderator)
    lights.move(State.CLOSED)
    _db.session.commit()
    results.answer_opinions(
        lights,
        staff,
        [first.id, second.id],
        disposition=Disposition.REFLECTED,
        reason="第3章に通学路を明記しました。",
        summary="通学路の照明",
        body="照明の増設は、通学路から順に進めます。",
    )
    results.answer_opinions(
        lights,
        staff,
        [third.id],
        disposition=Disposition.FUTURE,
        reason="=今後の参考とします。",
        body="名称は今後検討します。",
    )
    changed = "夜間も安心して通れるよう、通学路から順に照明を増やします。"
    results.save_final_text(lights, staff, {section.id: changed})
    results.publish(lights, staff)
    _db.session.commit()

    return SimpleNamespace(
        staff=staff,
        users=[staff, moderator, hanako, taro, ken],
        parks=parks,
        draft=draft,
        closed=closed,
        lights=lights,
        named=named,
        phone=phone,
        held=held,
        withdrawn=withdrawn,
        formula=formula,
        minus=minus,
        hidden_name=hidden_name,
        paper=paper,
        result_opinions=[first, second, third],
        final_text=changed,
    )


# --- the description ------------------------------------------------------------------------


def test_the_description_is_valid_and_served(client, db, openapi, spec_dict):
    validate_spec(spec_dict)
    served = call(client, openapi, "/api/v1/openapi.yaml")
    assert served.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(served.get_data(as_text=True)) == spec_dict
    as_json = call(client, openapi, "/api/v1/openapi.json")
    assert as_json.get_json() == spec_dict
    index = call(client, openapi, "/api/v1/").get_json()
    assert index["consultations"].endswith("/api/v1/consultations")
    assert client.get(index["openapi"]).status_code == 200


def test_every_route_of_the_api_is_described(app, spec_dict):
    described = {f"/api/v1{path}".rstrip("/") or "/" for path in spec_dict["paths"]}
    routes = {
        rule.rule.replace("<int:consultation_id>", "{consultation_id}").rstrip("/")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == described


def test_the_validation_catches_what_the_description_does_not_allow(client, world, openapi):
    """The check is not vacuous: an extra field (a receipt code, say) or a wrong type fails."""
    from openapi_core.validation.response.exceptions import InvalidData

    response = client.get(f"/api/v1/consultations/{world.parks.id}/opinions")
    request = WerkzeugOpenAPIRequest(response.request)
    body = response.get_json()
    body["items"][0]["receipt_code"] = world.named.receipt_code
    response.set_data(json.dumps(body))
    with pytest.raises(InvalidData):
        openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
    body["items"][0].pop("receipt_code")
    body["items"][0]["created_at"] = "2026-05-01T00:00:00Z"  # not in Tokyo time
    response.set_data(json.dumps(body))
    with pytest.raises(InvalidData):
        openapi.validate_response(request, WerkzeugOpenAPIResponse(response))


# --- consultations ----------------------------------------------------------------------------


def test_consultations_newest_first_without_drafts(client, world, openapi):
    response = call(client, openapi, "/api/v1/consultations")
    body = response.get_json()
    ids = [item["id"] for item in body["items"]]
    assert world.draft.id not in ids
    assert ids == [world.lights.id, world.closed.id, world.parks.id]
    assert body["total"] == 3 and body["pages"] == 1 and body["page"] == 1
    assert body["per_page"] == 20 and body["links"]["next"] is None
    assert response.headers["X-Total-Count"] == "3"
    parks = next(item for item in body["items"] if item["id"] == world.parks.id)
    assert parks["title"] == "声区公園整備計画（案）"
    assert parks["state"] == "open" and parks["accepting_opinions"] is True
    assert parks["opens_at"].endswith("+09:00") and parks["closes_at"].endswith("+09:00")
    assert parks["topics"] == ["公園"]
    assert parks["section_count"] == 3
    # named, phone (approved), formula, minus, hidden name, paper; not held or withdrawn
    assert parks["published_opinion_count"] == 6
    assert parks["url"].endswith(f"/consultations/{world.parks.id}")
    assert parks["results_url"] is None
    lights = body["items"][0]
    assert lights["state"] == "published" and lights["results_published_at"].endswith("+09:00")
    assert lights["topics"] == ["防犯", "子育て", "夜間"]
    assert lights["results_url"].endswith(f"/api/v1/consultations/{world.lights.id}/results")
    assert client.get(parks["url"]).status_code == 200


def test_consultations_filter_by_state_and_words(client, world, openapi):
    def ids(**params):
        body = call(client, openapi, "/api/v1/consultations", **params).get_json()
        return [item["id"] for item in body["items"]]

    assert ids(state="open") == [world.parks.id]
    assert ids(state="closed") == [world.closed.id]
    assert ids(state="published") == [world.lights.id]
    assert ids(q="図書館") == [world.closed.id]
    assert ids(q="整備") == [world.parks.id]
    assert len(ids(q="遊具の更新")) == 3  # every one has this heading in its draft
    assert ids(q="下書き") == []  # the draft's words find nothing
    assert ids(q="計画 防犯", state="published") == [world.lights.id]


def test_an_open_consultation_past_its_closing_time_counts_as_closed(client, world, openapi):
    world.parks.closes_at = world.parks.opens_at
    _db.session.commit()
    body = call(client, openapi, "/api/v1/consultations", state="closed").get_json()
    assert [item["id"] for item in body["items"]] == [world.closed.id, world.parks.id]
    assert body["items"][1]["state"] == "closed"
    assert call(client, openapi, "/api/v1/consultations", state="open").get_json()["items"] == []


def test_pagination_links_lead_through_every_page(client, world, openapi):
    first = call(client, openapi, "/api/v1/consultations", per_page=2, q="計画")
    body = first.get_json()
    assert body["pages"] == 2 and body["total"] == 3 and len(body["items"]) == 2
    assert body["links"]["prev"] is None
    assert "page=2" in body["links"]["next"] and "per_page=2" in body["links"]["next"]
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(body["links"]["next"])
    assert second.status_code == 200
    page2 = second.get_json()
    assert page2["page"] == 2 and len(page2["items"]) == 1 and page2["links"]["next"] is None
    assert page2["links"]["prev"] == body["links"]["self"]
    assert client.get(page2["links"]["prev"]).get_json()["items"] == body["items"]
    seen = [item["id"] for item in body["items"] + page2["items"]]
    assert sorted(seen) == sorted({world.parks.id, world.closed.id, world.lights.id})
    beyond = call(client, openapi, "/api/v1/consultations", page=50, per_page=2).get_json()
    assert beyond["items"] == [] and beyond["links"]["next"] is None
    assert "page=2" in beyond["links"]["prev"]


def test_one_consultation_with_its_sections(client, world, openapi):
    body = call(client, openapi, f"/api/v1/consultations/{world.parks.id}").get_json()
    assert [s["heading"] for s in body["sections"]] == [
        "第1章 総則",
        "第2章 遊具の更新",
        "第3章 夜間の照明",
    ]
    assert [s["position"] for s in body["sections"]] == [1, 2, 3]
    assert all(s["final_body"] is None for s in body["sections"])  # not published yet
    published = call(client, openapi, f"/api/v1/consultations/{world.lights.id}").get_json()
    finals = [s["final_body"] for s in published["sections"]]
    assert finals[2] == world.final_text
    assert finals[0] == published["sections"][0]["body"]  # unchanged: the draft


@pytest.mark.parametrize("which", ["draft", "unknown"])
def test_drafts_and_unknown_consultations_are_404_json(client, world, openapi, which):
    consultation_id = world.draft.id if which == "draft" else 999_999
    for suffix in ("", "/opinions", "/results"):
        response = call(client, openapi, f"/api/v1/consultations/{consultation_id}{suffix}", 404)
        assert response.get_json()["error"]["code"] == 404
        assert "非公開の下書き" not in response.get_data(as_text=True)
    listing = client.get("/api/v1/consultations?format=csv").get_data(as_text=True)
    assert "非公開の下書き" not in listing


# --- opinions ---------------------------------------------------------------------------------


def test_opinions_are_the_published_masked_copies(client, world, openapi):
    path = f"/api/v1/consultations/{world.parks.id}/opinions"
    response = call(client, openapi, path)
    body = response.get_json()
    by_id = {item["id"]: item for item in body["items"]}
    assert list(by_id) == [
        world.named.id,
        world.phone.id,
        world.formula.id,
        world.minus.id,
        world.hidden_name.id,
        world.paper.id,
    ]
    assert world.held.id not in by_id and world.withdrawn.id not in by_id
    assert by_id[world.phone.id]["text"] == "詳しくは［電話番号］までお電話ください。"
    named = by_id[world.named.id]
    assert named["author"] == "区民 花子"
    assert named["section_heading"] == "第2章 遊具の更新"
    assert named["section_id"] == world.parks.sections[1].id
    assert named["reactions"] == {"agree": 2, "disagree": 1, "pass": 0}
    assert named["created_at"].endswith("+09:00")
    assert by_id[world.phone.id]["author"] is None  # did not choose to show the name
    assert by_id[world.hidden_name.id]["author"] is None  # the name waits for moderation
    assert by_id[world.paper.id]["channel"] == "paper"
    assert by_id[world.formula.id]["text"] == FORMULA  # JSON keeps the text as written

    text = response.get_data(as_text=True)
    for secret in [PHONE, EMAIL_IN_TEXT, "090-1111-2222", "やはり取り下げます", "30s", "70s"]:
        assert secret not in text
    for user in world.users:
        assert user.email not in text
    for opinion in [world.named, world.phone, world.held, world.paper]:
        assert opinion.receipt_code not in text
    for key in ("receipt_code", "age_band", "area", "email", "author_id", "user_id"):
        assert f'"{key}"' not in text


def test_opinions_as_csv(client, world, openapi):
    path = f"/api/v1/consultations/{world.parks.id}/opinions"
    response = call(client, openapi, path, format="csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert (
        disposition == f'attachment; filename="koe-consultation-{world.parks.id}-opinions-p1.csv"'
    )
    assert response.get_data().count(b"\r\n") >= 7
    rows = rows_of(response)
    header, lines = rows[0], rows[1:]
    assert header == [
        "id",
        "section_id",
        "section_heading",
        "text",
        "author",
        "channel",
        "created_at",
        "agree",
        "disagree",
        "pass",
    ]
    by_id = {int(line[0]): dict(zip(header, line, strict=True)) for line in lines}
    assert len(by_id) == 6
    named = by_id[world.named.id]
    assert named["text"] == "遊具を増やしてください。" and named["author"] == "区民 花子"
    assert named["section_heading"] == "第2章 遊具の更新"
    assert (named["agree"], named["disagree"], named["pass"]) == ("2", "1", "0")
    # formulas are defused, other text round-trips exactly
    assert by_id[world.formula.id]["text"] == "'" + FORMULA
    assert by_id[world.minus.id]["text"] == "'-賛成です。+1"
    assert by_id[world.phone.id]["text"] == "詳しくは［電話番号］までお電話ください。"
    assert by_id[world.phone.id]["author"] == "" and by_id[world.phone.id]["section_id"] == ""
    text = response.get_data().decode("utf-8-sig")
    for secret in [PHONE, EMAIL_IN_TEXT, "30s", world.named.receipt_code]:
        assert secret not in text

    paged = call(client, openapi, path, format="csv", per_page=2, page=3)
    assert [int(line[0]) for line in rows_of(paged)[1:]] == [world.hidden_name.id, world.paper.id]
    assert paged.headers["X-Total-Count"] == "6"
    assert 'rel="prev"' in paged.headers["Link"] and "format=csv" in paged.headers["Link"]
    assert "koe-consultation" in paged.headers["Content-Disposition"]


def test_consultations_as_csv(client, world, openapi):
    response = call(client, openapi, "/api/v1/consultations", format="csv")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="koe-consultations-p1.csv"'
    )
    rows = rows_of(response)
    assert rows[0][:3] == ["id", "title", "summary"]
    by_id = {int(line[0]): dict(zip(rows[0], line, strict=True)) for line in rows[1:]}
    assert set(by_id) == {world.parks.id, world.closed.id, world.lights.id}
    assert by_id[world.lights.id]["title"] == "声区防犯灯計画（案）、子育て"
    assert by_id[world.lights.id]["topics"] == "防犯, 子育て, 夜間"
    assert by_id[world.parks.id]["published_opinion_count"] == "6"
    assert by_id[world.parks.id]["opens_at"].endswith("+09:00")
    assert by_id[world.parks.id]["results_published_at"] == ""


def test_the_formula_guard():
    for text in ["=1+1", "+81", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(text) == "'" + text
    for value in ["意見", "", "a=b", "１＋１"]:
        assert safe_cell(value) == value
    assert safe_cell(-5) == -5 and safe_cell(None) == "" and safe_cell(True) == "true"


# --- results ----------------------------------------------------------------------------------


def test_results_are_404_until_published(client, world, openapi):
    for consultation in (world.parks, world.closed):
        for params in ({}, {"format": "csv"}):
            path = f"/api/v1/consultations/{consultation.id}/results"
            response = call(client, openapi, path, 404, **params)
            assert "not published" in response.get_json()["error"]["message"]
            assert response.headers["Cache-Control"] == "no-store"


def test_published_results(client, world, openapi):
    path = f"/api/v1/consultations/{world.lights.id}/results"
    response = call(client, openapi, path)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = response.get_json()
    first, second, third = world.result_opinions
    assert body["consultation"]["id"] == world.lights.id
    assert body["total"] == 3 and body["per_page"] == results.ROWS_PER_PAGE
    labels = {d["value"]: d["label_ja"] for d in body["dispositions"]}
    assert labels["reflected"] == "反映する" and labels["future_reference"] == "今後の参考とする"
    # No. 1 is about the whole draft, No. 2 answers the two opinions on section 3 together
    assert [a["number"] for a in body["answers"]] == [1, 2]
    one, two = body["answers"]
    assert one["body"] == "名称は今後検討します。" and one["summary"] == ""
    assert [o["id"] for o in one["opinions"]] == [third.id]
    assert one["opinions"][0]["disposition"] == "future_reference"
    assert two["summary"] == "通学路の照明"
    assert [o["id"] for o in two["opinions"]] == [first.id, second.id]
    assert two["opinions"][1]["text"] == "夜も暗いです。［電話番号］"
    assert two["opinions"][0]["disposition_reason"] == "第3章に通学路を明記しました。"
    counts = body["counts"]
    assert counts["total"] == 3 and counts["totals"]["reflected"] == 2
    assert counts["rows"][0]["section_id"] is None and counts["rows"][0]["total"] == 1
    assert counts["rows"][3]["counts"]["reflected"] == 2
    sections = body["sections"]
    assert [s["changed"] for s in sections] == [False, False, True]
    assert sections[2]["final_body"] == world.final_text
    assert {"kind": "insert", "text": "通学路から順に"} in sections[2]["diff"]
    assert sections[0]["final_body"] == sections[0]["draft_body"]
    text = response.get_data(as_text=True)
    assert PHONE not in text
    for opinion in world.result_opinions:
        assert opinion.receipt_code not in text

    one_row = call(client, openapi, path, per_page=1, page=3).get_json()
    assert [a["number"] for a in one_row["answers"]] == [2]
    assert [o["id"] for o in one_row["answers"][0]["opinions"]] == [second.id]
    assert one_row["pages"] == 3 and one_row["links"]["next"] is None


def test_published_results_as_csv(client, world, openapi):
    path = f"/api/v1/consultations/{world.lights.id}/results"
    response = call(client, openapi, path, format="csv")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="koe-consultation-{world.lights.id}-results-p1.csv"'
    )
    rows = rows_of(response)
    header = rows[0]
    assert header == [
        "answer_number",
        "opinion_id",
        "section_id",
        "section_heading",
        "opinion",
        "summary",
        "view",
        "disposition",
        "disposition_label",
        "disposition_reason",
    ]
    lines = [dict(zip(header, line, strict=True)) for line in rows[1:]]
    first, second, third = world.result_opinions
    assert [(line["answer_number"], int(line["opinion_id"])) for line in lines] == [
        ("1", third.id),
        ("2", first.id),
        ("2", second.id),
    ]
    assert lines[0]["opinion"] == "'@全員 公園の名前を募集してほしいです。"
    assert lines[0]["disposition_reason"] == "'=今後の参考とします。"
    assert lines[0]["disposition_label"] == "今後の参考とする"
    assert lines[2]["opinion"] == "夜も暗いです。［電話番号］"
    assert lines[2]["view"] == "照明の増設は、通学路から順に進めます。"
    assert lines[2]["section_heading"] == "第3章 夜間の照明"
    assert PHONE not in response.get_data().decode("utf-8-sig")


# --- errors, headers, limits --------------------------------------------------------------------


BAD_PARAMETERS = [
    ({"page": "abc"}, "'page'"),
    ({"page": "0"}, "'page'"),
    ({"page": "-1"}, "'page'"),
    ({"page": "1.5"}, "'page'"),
    ({"page": "9" * 40}, "'page'"),
    ({"per_page": "0"}, "'per_page'"),
    ({"per_page": "10000"}, "'per_page'"),
    ({"per_page": "101"}, "'per_page'"),
    ({"per_page": "1001", "format": "csv"}, "'per_page'"),
    ({"per_page": " 5"}, "'per_page'"),
    ({"per_page": "１０"}, "'per_page'"),
    ({"format": "xml"}, "'format'"),
    ({"state": "draft"}, "'state'"),
    ({"q": "あ" * 101}, "'q'"),
    ({"q": "公園\x00"}, "'q'"),
]


def test_bad_parameters_are_400_json(client, world, openapi):
    for path in (
        "/api/v1/consultations",
        f"/api/v1/consultations/{world.parks.id}/opinions",
        f"/api/v1/consultations/{world.lights.id}/results",
    ):
        for params, words in BAD_PARAMETERS:
            if path != "/api/v1/consultations" and ("state" in params or "q" in params):
                continue  # only the consultation list has these
            response = call(client, openapi, path, 400, **params)
            error = response.get_json()["error"]
            assert error["code"] == 400 and words in error["message"], (path, params)
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert response.headers["Cache-Control"] == "no-store"


def test_csv_allows_larger_pages_and_the_detail_is_json_only(client, world, openapi):
    call(client, openapi, "/api/v1/consultations", per_page=1000, format="csv")
    detail = f"/api/v1/consultations/{world.parks.id}"
    assert (
        "'format'"
        in call(client, openapi, detail, 400, format="csv").get_json()["error"]["message"]
    )
    call(client, openapi, detail, format="json")


def test_unknown_paths_and_methods_answer_json(client, db, openapi):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404
    response = client.get("/api/v1/consultations/abc")
    assert response.status_code == 404 and response.is_json
    response = client.post("/api/v1/consultations")
    assert response.status_code in (400, 405) and response.is_json


def test_open_data_headers_and_conditional_requests(client, world, openapi):
    response = call(client, openapi, "/api/v1/consultations")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Total-Count" in response.headers["Access-Control-Expose-Headers"]
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in response.headers
    etag = response.headers["ETag"]
    again = client.get("/api/v1/consultations", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    # Japanese as it is, not \\u escapes
    assert "声区公園整備計画" in response.get_data(as_text=True)
    assert json.loads(response.get_data(as_text=True)) == response.get_json()


def test_the_api_is_the_same_for_staff(app, world, openapi):
    """Signing in changes nothing: drafts stay hidden and held opinions too."""
    staff = app.test_client()
    assert login(staff, world.staff.email).status_code == 302
    body = call(staff, openapi, "/api/v1/consultations").get_json()
    assert world.draft.id not in [item["id"] for item in body["items"]]
    call(staff, openapi, f"/api/v1/consultations/{world.draft.id}", 404)
    call(staff, openapi, f"/api/v1/consultations/{world.closed.id}/results", 404)
    opinions = call(staff, openapi, f"/api/v1/consultations/{world.parks.id}/opinions")
    assert EMAIL_IN_TEXT not in opinions.get_data(as_text=True)
    # the session cookie may be refreshed in the answer: no shared cache may keep it
    assert opinions.headers["Cache-Control"] == "private, max-age=60"
    assert "Cookie" in opinions.headers["Vary"]


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "3 per minute"}

    def test_the_api_has_its_own_generous_limit(self, client, db, openapi):
        for _ in range(3):
            call(client, openapi, "/api/v1/consultations")
        response = call(client, openapi, "/api/v1/consultations", 429)
        assert response.get_json()["error"]["code"] == 429
        assert response.headers.get("Retry-After")


# --- naughty strings ----------------------------------------------------------------------------

BLNS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "naughty-strings" / "blns.json"


@pytest.fixture(scope="module")
def naughty() -> list[str]:
    if not BLNS.exists():
        pytest.fail(f"{BLNS} is missing: the datasets live in ../shared beside the project")
    return json.loads(BLNS.read_text(encoding="utf-8"))


def test_naughty_parameters_and_paths_never_fail(client, world, openapi, naughty):
    """Every string of the Big List of Naughty Strings, in each parameter and as the id:
    a 200, a 400 or a 404, always JSON (or CSV), never a 500. The first answer of each kind
    is validated against the description; the others must have the same shape of error."""
    problems = []
    validated = set()
    consultations = "/api/v1/consultations"
    opinions = f"/api/v1/consultations/{world.parks.id}/opinions"
    results_path = f"/api/v1/consultations/{world.lights.id}/results"
    for value in naughty:
        checks = [
            (consultations, {"q": value}),
            (consultations, {"state": value}),
            (consultations, {"page": value}),
            (consultations, {"per_page": value}),
            (opinions, {"format": value}),
            (results_path, {"page": value}),
            (f"/api/v1/consultations/{quote(value, safe='')}", {}),
        ]
        for path, params in checks:
            where = f"{path[:60]} {params!r:.60}"
            response = client.get(path, query_string=params)
            if response.status_code not in (200, 400, 404):
                problems.append(f"{where}: {response.status_code}")
                continue
            if response.status_code >= 400:
                error = (response.get_json(silent=True) or {}).get("error", {})
                if error.get("code") != response.status_code or not error.get("message"):
                    problems.append(f"{where}: not a JSON error")
                    continue
            elif not (response.is_json or response.mimetype == "text/csv"):
                problems.append(f"{where}: {response.mimetype}")
                continue
            kind = (path.split("?")[0] if params else "id", response.status_code)
            if kind in validated or (not params and response.status_code == 404):
                continue  # an id with a slash matches no described path; its error is checked
            validated.add(kind)
            request = WerkzeugOpenAPIRequest(response.request)
            try:
                openapi.validate_response(request, WerkzeugOpenAPIResponse(response))
            except Exception as exc:
                problems.append(f"{where}: {exc!r:.120}")
    assert not problems, "\n".join(problems[:40])


def test_themes_only_when_residents_may_see_them(client, db, voices_consultation, openapi):
    from app.themes import operations as themes

    path = f"/api/v1/consultations/{voices_consultation.id}/themes"
    assert "not published" in call(client, openapi, path, 404).get_json()["error"]["message"]
    run = themes.request_run(voices_consultation, None, 4, queue=False)
    db.session.commit()
    themes.execute(run.id)
    call(client, openapi, path, 404, format="csv")  # grouped, but for staff only
    voices_consultation.themes_public = True
    db.session.commit()
    body = call(client, openapi, path).get_json()
    assert body["opinions"] == run.texts and len(body["themes"]) == 4
    assert [t["number"] for t in body["themes"]] == [1, 2, 3, 4]
    assert sum(t["size"] for t in body["themes"]) == run.texts
    examples = [e["text"] for t in body["themes"] for e in t["examples"]]
    assert examples and not any("090-1234" in e for e in examples)
    assert body["opinion_groups"] == {"people": 0, "groups": [], "consensus": []}
    rows = rows_of(call(client, openapi, path, format="csv"))
    assert rows[0][:5] == ["number", "key", "label", "keywords", "size"]
    assert len(rows) == 5 and rows[1][0] == "1"
