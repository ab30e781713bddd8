"""The subscriber pages on a 360 px phone (issue 12): /r/<token> and every
state of /my-lines/ fit without horizontal scrolling, in both languages, in
the operator's colours. Screenshots go to var/screenshots/ for people to see."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from operators.models import Operator
from tests.reverification.subscriber_states import answer_link, last_code

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"


def _fits(page, name: str) -> None:
    """The page is no wider than the phone (and a screenshot is kept)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"subscriber-{name}.png"), full_page=True)
    assert width <= PHONE["width"], (name, width)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_subscriber_page_fits_a_360_px_phone(
    alpha, make_staff, open_mobile, settings, tmp_path, live_server, browser, lang
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    settings.TELEREG_PUBLIC_URL = live_server.url
    Operator.objects.filter(pk=alpha.pk).update(
        brand_colour="#c8102e",
        display_name_zh="阿尔法移动通信有限公司",
        display_name_en="Alpha Mobile",
    )
    outbox = tmp_path / "file.jsonl"
    answer_path, _ = answer_link(alpha, make_staff, open_mobile, outbox)
    _, holder = open_mobile()
    open_mobile(holder)
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{answer_path}?lang={lang}")
        page.wait_for_selector("#verify")
        _fits(page, f"{lang}-answer")
        page.click("#verify")  # nothing filled in: errors beside the fields
        page.wait_for_selector(".field-error")
        _fits(page, f"{lang}-answer-refused")

        page.goto(f"/my-lines/?lang={lang}")
        _fits(page, f"{lang}-ask")
        page.select_option("#id_operator", "alpha")
        page.select_option("#id_id_type", holder.id_type)
        page.fill("#id_id_number", holder.id_number)
        page.fill("#id_name", holder.name)
        page.click("#send-code")
        page.wait_for_selector("#sent-to")
        _fits(page, f"{lang}-code")
        page.fill("#id_code", last_code(outbox))
        page.click("#show-lines")
        page.wait_for_selector("#my-lines")
        _fits(page, f"{lang}-lines")
        page.click("#not-mine-1")
        page.wait_for_selector("#confirm-not-mine")
        _fits(page, f"{lang}-dispute")
        page.click("#confirm-not-mine")  # no reason chosen: asked again, beside the field
        page.wait_for_selector("#field-reason .field-error")
        _fits(page, f"{lang}-dispute-refused")
        page.check("#id_reason_0")
        page.click("#confirm-not-mine")
        page.wait_for_selector("#next-steps")
        _fits(page, f"{lang}-reported")
        page.click("#back")
        page.wait_for_selector("#my-lines")
        page.click("#correct")
        page.wait_for_selector("#send-correction")
        _fits(page, f"{lang}-correct")
        page.fill("#id_address", "Room 5, 1 Harbour Road, Test City")
        page.click("#send-correction")
        page.wait_for_selector("#corrected")
        _fits(page, f"{lang}-corrected")
        assert page.get_attribute("html", "lang") == lang
        brand = page.evaluate(
            "getComputedStyle(document.querySelector('.subscriber-top')).borderTopColor"
        )
        assert brand == "rgb(200, 16, 46)"  # the operator's colour, from /brand/alpha.css
    finally:
        context.close()
