"""The axe-core helper itself: the vendored file is the pinned version, and a
page with a serious violation fails with the rule and its target named (so a
quiet walk means accessible pages, not a check that never ran)."""

from __future__ import annotations

import pytest

from tests.browser.axe import AXE_SCRIPT, AXE_VERSION, assert_accessible, axe_violations

BAD = """<!doctype html><html lang="en"><head><title>bad</title></head><body><main>
<h1>Form</h1><form><input type="text" id="nameless"><img src="data:," id="pictured"></form>
</main></body></html>"""
GOOD = """<!doctype html><html lang="en"><head><title>good</title></head><body><main>
<h1>Form</h1><form><label for="named">Name</label><input type="text" id="named"></form>
</main></body></html>"""


@pytest.fixture
def blank(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


def test_the_vendored_axe_core_is_the_pinned_version_with_its_licence():
    head = AXE_SCRIPT.read_text(encoding="utf-8")[:600]
    assert head.startswith(f"/*! axe v{AXE_VERSION}")
    assert "Mozilla Public" in head
    assert (
        (AXE_SCRIPT.parent / "LICENSE-axe-core.txt")
        .read_text()
        .startswith("Mozilla Public License")
    )


def test_the_makefile_refreshes_the_same_pinned_version():
    makefile = (AXE_SCRIPT.parents[3] / "Makefile").read_text(encoding="utf-8")
    assert f"AXE_VERSION := {AXE_VERSION}\n" in makefile


def test_a_field_without_a_label_and_an_image_without_alt_fail_by_rule_and_target(blank):
    blank.set_content(BAD)
    ids = {v["id"] for v in axe_violations(blank)}
    assert {"label", "image-alt"} <= ids
    with pytest.raises(AssertionError) as failure:
        assert_accessible(blank, "the bad page")
    assert "label" in str(failure.value)
    assert "#nameless" in str(failure.value)
    assert "#pictured" in str(failure.value)


def test_a_labelled_form_passes(blank):
    blank.set_content(GOOD)
    assert_accessible(blank, "the good page")
