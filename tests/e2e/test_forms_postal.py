"""Issue 6 in Chromium: a postal code fills in the address (Japan Post's data, offline), in
place with JavaScript and by sending the page without it; Enter in a text box still goes to
the confirmation page. axe checks each page, in Japanese and English."""

from __future__ import annotations

import pytest

from app.auth import operations as auth_ops
from app.auth.models import Role
from app.extensions import db
from app.forms import operations
from app.forms.models import FieldKind, FormState, OnlineForm
from tests.conftest import PASSWORD

TEXTS = {
    "ja-JP": {"fill": "郵便番号から住所を入れる", "found": "住所を入れました",
              "missing": "見つかりません"},
    "en-US": {"fill": "Fill in the address from this postal code", "found": "address is filled in",
              "missing": "No address is known"},
}  # fmt: skip


@pytest.fixture
def form_id(live_app):
    with live_app.app_context():
        staff = auth_ops.create_user("職員", "staff@example.jp", PASSWORD, Role.STAFF)
        survey = OnlineForm(
            title="転入の届出（事前入力）",
            state=FormState.DRAFT,
            login_required=False,
            one_per_person=False,
        )
        db.session.add(survey)
        for kind, label, prefill in [
            (FieldKind.SHORT_TEXT, "お名前", None),
            (FieldKind.POSTAL_CODE, "郵便番号", "postal_code"),
            (FieldKind.SHORT_TEXT, "住所", "address"),
        ]:
            operations.add_field(survey, staff, kind=kind, label=label, prefill=prefill,
                                 required=True)  # fmt: skip
        operations.move(survey, FormState.OPEN, staff)
        db.session.commit()
        yield survey.id
        db.session.remove()


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_address_is_filled_in_with_javascript(open_page, check_a11y, form_id, locale):
    t = TEXTS[locale]
    page = open_page(locale=locale)
    page.goto(f"/forms/{form_id}")
    check_a11y(page)
    page.get_by_label("郵便番号").fill("１０５－００１１")
    page.get_by_role("button", name=t["fill"]).click()
    page.get_by_text(t["found"]).wait_for()
    assert page.get_by_label("住所").input_value() == "東京都港区芝公園"
    assert page.url.endswith(f"/forms/{form_id}")  # in place: the page was not sent
    check_a11y(page)
    page.get_by_label("住所").press("End")
    page.keyboard.type("4-2-8")  # the focus is in the address, to go on with the number
    assert page.get_by_label("住所").input_value() == "東京都港区芝公園4-2-8"
    page.get_by_label("郵便番号").fill("999-9999")
    page.get_by_role("button", name=t["fill"]).click()
    page.locator("[data-postal-status]").filter(has_text=t["missing"]).wait_for()
    assert page.get_by_label("住所").input_value() == "東京都港区芝公園4-2-8"  # kept


def test_the_address_is_filled_in_without_javascript(open_page, check_a11y, form_id):
    t = TEXTS["ja-JP"]
    page = open_page(
        locale="ja-JP", java_script_enabled=False, viewport={"width": 375, "height": 740}
    )
    page.goto(f"/forms/{form_id}")
    page.get_by_label("お名前").fill("声 花子")
    page.get_by_label("郵便番号").fill("1050011")
    page.get_by_role("button", name=t["fill"]).click()
    page.wait_for_load_state()
    check_a11y(page)
    assert page.url.endswith("#" + page.get_by_label("住所").get_attribute("id"))  # scrolled to it
    assert page.get_by_label("住所").input_value() == "東京都港区芝公園"
    assert page.get_by_label("お名前").input_value() == "声 花子"  # nothing lost
    assert t["found"] in page.locator("main").inner_text()
    # Enter in a text box: the confirmation page, not another look-up
    page.get_by_label("住所").press("End")
    page.get_by_label("住所").type("4-2-8")
    page.get_by_label("住所").press("Enter")
    page.wait_for_load_state()
    check_a11y(page)
    main = page.locator("main").inner_text()
    assert "東京都港区芝公園4-2-8" in main and "105-0011" in main
    assert page.locator("button[name=step][value=send]").count() == 1
