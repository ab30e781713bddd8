"""axe-core in the browser tests (issue 12): a page fails on any ``serious``
or ``critical`` violation, and the failure names each rule and its targets.

axe runs through Playwright's ``page.evaluate``, which DevTools executes
outside the page's Content-Security-Policy: the page keeps its strict policy
while it is checked (nothing is injected as a ``<script>``), so a CSP test
and an axe check can share a page."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
FAILING_IMPACTS = ("serious", "critical")

# WCAG 2.1 A and AA plus axe's best practices (landmarks, one h1, regions).
RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


@cache
def axe_source() -> str:
    """The vendored axe-core, checked against its pinned digest first."""
    source = AXE_SCRIPT.read_bytes()
    if hashlib.sha256(source).hexdigest() != AXE_SHA256:
        raise AssertionError(f"{AXE_SCRIPT} is not axe-core {AXE_VERSION} as vendored")
    return source.decode("utf-8")


def axe_violations(page) -> list[dict]:
    """Every violation axe finds on the page as it is now (any impact)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;void 0")
    return page.evaluate(RUN)


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'][:5])}"
        for v in violations
    )


def assert_accessible(page, where: str) -> None:
    """Fail on serious or critical violations, naming rules and targets."""
    failing = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    # ``where`` names the page; its address may hold a link token, so it is left out.
    assert not failing, f"axe-core found on {where}:\n{describe(failing)}"
