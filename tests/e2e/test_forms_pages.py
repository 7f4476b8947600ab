"""Issue 6 (first step) in Chromium: every page of an online form, for staff and a resident, in
Japanese and English; the resident fills a form by keyboard, checks it and sends it."""

from __future__ import annotations

import pytest

from app.auth import operations as auth_ops
from app.auth.models import Role
from app.extensions import db
from app.forms import operations
from app.forms.models import FieldKind, FormState, OnlineForm
from tests.conftest import PASSWORD
from tests.e2e.helpers import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_pages_of_a_form_have_no_axe_violation(live_app, open_page, check_a11y, locale):
    with live_app.app_context():
        staff = auth_ops.create_user("職員", "staff@example.jp", PASSWORD, Role.STAFF)
        auth_ops.create_user("区民", "resident@example.jp", PASSWORD, Role.RESIDENT)
        survey = OnlineForm(
            title="公園利用アンケート", description="ご協力ください。", state=FormState.DRAFT
        )
        db.session.add(survey)
        for kind, label, choices in [
            (FieldKind.SHORT_TEXT, "お名前", []),
            (FieldKind.SINGLE, "年代", ["10代", "20代", "30代以上"]),
            (FieldKind.MULTIPLE, "よく使う公園", ["中央公園", "川沿い公園"]),
            (FieldKind.DROPDOWN, "地区", ["北部", "南部"]),
            (FieldKind.DATE, "利用日", []),
            (FieldKind.FILE, "証明書", []),
            (FieldKind.CONSENT, "同意します", []),
        ]:
            operations.add_field(
                survey, staff, kind=kind, label=label, choices=choices,
                required=kind in (FieldKind.SHORT_TEXT, FieldKind.CONSENT),
            )  # fmt: skip
        survey.summary_public = True
        survey.fields[1].public = True
        operations.move(survey, FormState.OPEN, staff)
        db.session.commit()
        form_id, first_field = survey.id, survey.fields[0].id
        db.session.remove()
    resident = open_page(locale=locale)
    sign_in(resident, check_a11y, "resident@example.jp")
    resident.goto(f"/forms/{form_id}")
    check_a11y(resident)
    resident.locator("button[value=confirm]").click()  # nothing filled in
    resident.get_by_role("alert").wait_for()
    check_a11y(resident)
    resident.locator("input[type=text]").first.fill("区民 花子")
    resident.locator("input[type=radio]").nth(1).check()
    resident.locator("input[type=checkbox]").first.check()
    resident.locator("input[type=checkbox]").last.check()  # the consent
    resident.locator("input[type=file]").set_input_files(
        files=[{"name": "証明書.png", "mimeType": "image/png", "buffer": PNG}]
    )
    resident.locator("button[value=confirm]").click()
    check_a11y(resident)  # the confirmation page
    assert "区民 花子" in resident.locator("main").inner_text()
    assert "証明書.png" in resident.locator("main").inner_text()
    resident.locator("button[value=send]").click()
    check_a11y(resident)  # the receipt
    assert resident.locator(".receipt-code").count() == 1
    resident.goto(f"/forms/{form_id}/results")  # the residents' summary
    check_a11y(resident)
    staff_page = open_page(locale=locale)
    sign_in(staff_page, check_a11y, "staff@example.jp")
    for path in [
        "/forms/",
        f"/forms/{form_id}/edit",
        f"/forms/{form_id}/answers",
        f"/forms/{form_id}/summary",
        f"/forms/{form_id}/questions/{first_field}",
        f"/forms/{form_id}/questions/new",
        "/forms/new",
    ]:
        staff_page.goto(path)
        check_a11y(staff_page)  # fmt: skip
    staff_page.goto(f"/forms/{form_id}/summary")
    check_a11y(staff_page)
    assert staff_page.locator("svg[role=img]").count() == 3  # the questions with choices
