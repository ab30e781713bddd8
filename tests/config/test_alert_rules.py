"""deploy/prometheus/alerts.yml: well-formed alerting rules, and every metric
name they use is one /metrics exposes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.config.test_metrics import domain_rows  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
METRIC = re.compile(r"\btelereg_[a-z0-9_]+\b")


def rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_well_formed():
    found = rules()
    names = [rule["alert"] for rule in found]
    assert len(names) == len(set(names))
    assert {
        "TeleregCampaignStalled",
        "TeleregAuthorityBreakerOpen",
        "TeleregAccessLogVerificationFailed",
        "TeleregAccessLogVerificationStale",
        "TeleregCampaignQueueGrowing",
    } <= set(names)
    for rule in found:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]
        assert METRIC.search(rule["expr"]), rule["alert"]
        assert rule["expr"].count("(") == rule["expr"].count(")")
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])


@pytest.mark.django_db
def test_every_metric_the_rules_use_is_exposed_by_metrics(client, domain_rows):  # noqa: F811
    client.get("/sign-in/")  # so that the per-view families have a sample
    response = client.get("/metrics")
    assert response.status_code == 200
    exposed = set()
    for family in text_string_to_metric_families(response.content.decode()):
        exposed.add(family.name)
        exposed.update(sample.name for sample in family.samples)
    used = {name for rule in rules() for name in METRIC.findall(rule["expr"])}
    assert used, "the rules use no metric"
    assert not sorted(used - exposed), f"not exposed by /metrics: {sorted(used - exposed)}"
