"""The CSV export of campaigns' requests (identity.exports): from the
campaigns selected in the console, one row per request, the line's number
masked by identity's selector, states as their labels."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy

from identity import selectors as identity_selectors
from identity.exports import CsvExport, ExportColumn

from .models import ReverificationRequest


def campaign_requests(campaigns: QuerySet) -> QuerySet[ReverificationRequest]:
    """The requests of the selected (already scoped) campaigns, in campaign order."""
    return ReverificationRequest.objects.filter(campaign__in=campaigns.values("pk")).order_by(
        "campaign_id", "pk"
    )


CAMPAIGN_REQUESTS = CsvExport(
    name="campaign-requests",
    label=gettext_lazy("Export the selected campaigns' requests as CSV (masked; logged)"),
    rows=campaign_requests,
    select_related=("campaign", "line"),
    columns=(
        ExportColumn(gettext_lazy("campaign"), lambda r: r.campaign.name),
        ExportColumn(
            gettext_lazy("number (masked)"),
            lambda r: identity_selectors.phone_masked(r.line.number),
        ),
        ExportColumn(gettext_lazy("request state"), lambda r: r.get_state_display()),
        ExportColumn(gettext_lazy("deadline"), lambda r: r.deadline),
        ExportColumn(gettext_lazy("created at"), lambda r: r.created_at),
        ExportColumn(gettext_lazy("verified at"), lambda r: r.verified_at),
        ExportColumn(gettext_lazy("failed attempts"), lambda r: r.failed_attempts),
    ),
)
