"""A phone with very large text (360 px wide, the root font at 200 %): the header leaves most of
the first screen to the page and folds its menu into a <details> (no script needed); a wide
table scrolls in a named, focusable region with a visible cue; captions over the video never
cover the stream's status line."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.events.models import Event, StreamState
from app.extensions import db

PHONE = {"width": 360, "height": 740}


def very_large_text(page) -> None:
    # as the phone's own text-size setting does: everything in rem grows, the layout must follow
    page.evaluate("document.documentElement.style.fontSize = '200%'")


def test_header_tables_and_captions_with_very_large_text(live_app, open_page, check_a11y):
    with live_app.app_context():
        seeded = live_app.test_cli_runner().invoke(args=["koe", "seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        past = db.session.scalar(
            select(Event).where(Event.stream_state == StreamState.ENDED).order_by(Event.id)
        )
        past_id = past.id
        db.session.remove()
    page = open_page(viewport=PHONE)

    page.goto("/")
    very_large_text(page)
    check_a11y(page)
    header = page.get_by_role("banner")
    height = header.bounding_box()["height"]
    assert height < 0.4 * PHONE["height"], f"the header fills {height:.0f}px of the first screen"
    link = header.get_by_role("link", name="意見募集")
    expect(link).to_be_hidden()
    header.get_by_text("メニュー", exact=True).click()  # the <details> opens, without a script
    expect(link).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    link.click()
    very_large_text(page)
    check_a11y(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto("/moderation/statistics")
    very_large_text(page)
    check_a11y(page)
    region = page.get_by_role("region", name="状態別")
    expect(region).to_have_attribute("tabindex", "0")
    expect(region.locator(".scroll-hint")).to_be_visible()
    region.focus()
    expect(region).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(f"/events/{past_id}/live")
    very_large_text(page)
    check_a11y(page)
    status = page.locator("#stream-status")
    captions = page.locator("#captions")
    expect(status).to_contain_text("配信は終了しました")
    expect(captions).to_be_visible()
    below, above = captions.bounding_box(), status.bounding_box()
    overlap = min(below["y"] + below["height"], above["y"] + above["height"]) - max(
        below["y"], above["y"]
    )
    assert overlap <= 0, "the captions cover the stream's status"
    assert below["x"] + below["width"] <= PHONE["width"] + 1
