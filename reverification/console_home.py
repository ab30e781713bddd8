"""What re-verification puts on the console home (operators.console_home):
open disputes, and the campaigns under way with their progress (planned,
notified, verified). Aggregate queries only, scoped by operators.tenancy;
registered by :meth:`reverification.apps.ReverificationConfig.ready`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from operators.console_home import HomeCount, HomePanel, count_register, panel_register
from operators.tenancy import scoped

from .models import (
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    Dispute,
    DisputeState,
    NoticeKind,
    RequestState,
    RiskFlag,
    RiskFlagState,
    StandingPurpose,
    VelocityAlert,
)

if TYPE_CHECKING:
    from operators.tenancy import AnyUser

UNDER_WAY = (CampaignState.PLANNING, CampaignState.RUNNING, CampaignState.PAUSED)
# A campaign list on the home page is a summary: the rest is one click away.
PANEL_ROWS = 20


def disputes_open_count(user: AnyUser) -> int:
    return scoped(Dispute.objects.filter(state=DisputeState.OPEN), user).count()


def campaigns_under_way(user: AnyUser) -> list[dict[str, Any]]:
    """The campaigns being planned, sent or paused, newest first, each with
    its planned requests, the requests whose first notice was sent and those
    verified: one query (a count per campaign in SQL, none in Python)."""
    notified = (
        Delivery.objects.filter(
            request__campaign=OuterRef("pk"), kind=NoticeKind.NOTICE, state=DeliveryState.SENT
        )
        .order_by()
        .values("request__campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        scoped(Campaign.objects.filter(state__in=UNDER_WAY), user)
        .annotate(
            verified=Count("requests", filter=Q(requests__state=RequestState.VERIFIED)),
            notified=Coalesce(Subquery(notified, output_field=IntegerField()), 0),
        )
        .order_by("-launched_at", "-pk")
        .values("pk", "name", "standing", "state", "planned_count", "notified", "verified")[
            :PANEL_ROWS
        ]
    )
    labels = dict(CampaignState.choices)
    # A standing campaign is named by its purpose, in the reader's language.
    standing = dict(StandingPurpose.choices)
    return [
        {
            "id": row["pk"],
            "name": str(standing[row["standing"]]) if row["standing"] in standing else row["name"],
            "state": str(labels.get(row["state"], "")),
            "planned": row["planned_count"],
            "sent": row["notified"],
            "verified": row["verified"],
        }
        for row in rows
    ]


count_register(
    HomeCount(
        key="disputes_open",
        label=gettext_lazy("Open disputes (lines reported “not mine”)"),
        permission="campaign.manage",
        count=disputes_open_count,
        changelist="console:reverification_dispute_changelist",
        query={"state__exact": DisputeState.OPEN},
        order=30,
    )
)
panel_register(
    HomePanel(
        key="campaigns_under_way",
        title=gettext_lazy("Campaigns under way"),
        permission="campaign.manage",
        rows=campaigns_under_way,
        template="reverification/admin/home_campaigns.html",
        changelist="console:reverification_campaign_changelist",
        query={"state__in": ",".join(UNDER_WAY)},
        order=10,
    )
)


def velocity_alerts_count(user: AnyUser) -> int:
    """Bursts of openings past a velocity rule not yet acknowledged."""
    return scoped(VelocityAlert.objects.filter(acknowledged_at__isnull=True), user).count()


def risk_flags_open_count(user: AnyUser) -> int:
    return scoped(RiskFlag.objects.filter(state=RiskFlagState.OPEN), user).count()


count_register(
    HomeCount(
        key="velocity_alerts",
        label=gettext_lazy("Velocity alerts (openings too fast) not acknowledged"),
        permission="risk_flag.manage",
        count=velocity_alerts_count,
        changelist="console:reverification_velocityalert_changelist",
        query={"acknowledged_at__isnull": "True"},
        order=35,
    )
)
count_register(
    HomeCount(
        key="risk_flags_open",
        label=gettext_lazy("Open risk flags"),
        permission="risk_flag.manage",
        count=risk_flags_open_count,
        changelist="console:reverification_riskflag_changelist",
        query={"state__exact": RiskFlagState.OPEN},
        order=36,
    )
)
