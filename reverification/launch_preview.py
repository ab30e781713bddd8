"""What a compliance officer sees before launching a campaign: how many lines
its criteria select now, and a few of them, masked.

The count is the planning query's own filter (``campaigns.matching_lines``)
as one COUNT in the database, so the number shown is the number of requests
a launch would plan now; the sample is masked through identity's selectors
(nothing here reads personal data in clear, so nothing needs logging)."""

from __future__ import annotations

from dataclasses import dataclass

from identity import selectors as identity_selectors

from . import campaigns
from .models import Campaign

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class SampleLine:
    """One matching line as the confirmation page shows it: masked."""

    number: str
    kind: str
    holder: str


@dataclass(frozen=True)
class LaunchPreview:
    count: int
    sample: tuple[SampleLine, ...]


def campaign_launch_preview(*, campaign: Campaign, sample_size: int = SAMPLE_SIZE) -> LaunchPreview:
    """The lines a launch would ask now: their count (one COUNT query) and the
    first ``sample_size`` of them by id (one query), numbers and holders masked."""
    lines = campaigns.matching_lines(campaign)
    count = lines.count()
    rows = lines.select_related("holder").order_by("pk")[: max(0, sample_size)] if count else []
    sample = tuple(
        SampleLine(
            number=identity_selectors.phone_masked(line.number),
            kind=line.get_kind_display(),
            holder=identity_selectors.person_masked(line.holder, fields=("name",))["name"] or "—",
        )
        for line in rows
    )
    return LaunchPreview(count=count, sample=sample)
