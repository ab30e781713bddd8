"""Re-verification: campaigns, their requests, the deliveries of their notices,
dispatch batches, the "lines under my ID" challenges and disputes.

The tables keep the names they had in ``registration`` (``db_table``): the
models moved app in state only (migration 0001 of this app)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from identity.models import CorrectionRequest, Person
from operators.models import Operator
from registration.models import Line


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PLANNING = "planning", _("Planning")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    FINISHED = "finished", _("Finished")


def default_campaign_reminders() -> list[int]:
    return [14, 7, 2]


def default_campaign_channels() -> list[str]:
    return ["file"]


class StandingPurpose(models.TextChoices):
    """Campaigns the system keeps open per operator and fills day by day."""

    DOCUMENT_EXPIRING = "document_expiring", _("Document expiring")
    RISK_HIGH = "risk_high", _("Risk flag: high")
    RISK_MEDIUM = "risk_medium", _("Risk flag: medium")


class Campaign(models.Model):
    """A re-verification campaign: which lines, by when, how to tell them.
    A standing one (``standing``) is created by the daily cycle, one per
    operator and purpose, and gets requests as lines come due."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=120)
    criteria = models.JSONField(_("criteria"), default=dict)
    deadline = models.DateField(_("deadline"))
    reminder_days = models.JSONField(_("reminder days"), default=default_campaign_reminders)
    channels = models.JSONField(_("channels"), default=default_campaign_channels)
    notice_text_zh = models.TextField(_("notice text (Chinese)"), blank=True)
    notice_text_en = models.TextField(_("notice text (English)"), blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    planned_count = models.PositiveIntegerField(_("planned count"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The planning message: when it was last published (launch time until the
    # sweep re-publishes it) and the lease of the worker planning it.
    plan_enqueued_at = models.DateTimeField(_("plan enqueued at"), null=True, blank=True)
    plan_lease_until = models.DateTimeField(_("plan lease until"), null=True, blank=True)
    # The last failure of this campaign's step in the re-verification cycle
    # (the step and the error's type, never data); cleared by the next run.
    cycle_error = models.CharField(_("cycle error"), max_length=200, blank=True, default="")
    cycle_failed_at = models.DateTimeField(_("cycle failed at"), null=True, blank=True)
    # The last failure of its planning task (the error's type, never data),
    # recorded by the task's failure handler; cleared when a plan succeeds.
    failure = models.CharField(_("failure"), max_length=200, blank=True, db_default="")
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    standing = models.CharField(
        _("standing purpose"),
        max_length=24,
        choices=StandingPurpose.choices,
        blank=True,
        default="",
        db_default="",
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        db_table = "registration_campaign"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "standing"],
                condition=~Q(standing=""),
                name="one_standing_campaign_per_operator_purpose",
            ),
        ]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class RequestState(models.TextChoices):
    PENDING = "pending", _("Waiting for the subscriber")
    VERIFIED = "verified", _("Verified")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class ReverificationRequest(models.Model):
    """One line asked to re-verify in one campaign. Its link token is an HMAC
    of its id under a server key: unguessable, repeatable for reminders, and
    never stored."""

    TENANT_OPERATOR_PATH = "operator"

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="requests"
    )
    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="reverifications"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=RequestState.choices, default=RequestState.PENDING
    )
    deadline = models.DateField(_("deadline"))
    created_at = models.DateTimeField(_("created at"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)
    # db_default: planning inserts rows with raw INSERT … SELECT.
    failed_attempts = models.PositiveSmallIntegerField(
        _("failed attempts"), default=0, db_default=0
    )
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    extension_reason = models.CharField(
        _("extension reason"), max_length=200, blank=True, db_default=""
    )
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extended by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("reverification request")
        verbose_name_plural = _("reverification requests")
        db_table = "registration_reverificationrequest"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "line"], name="one_request_per_campaign_line"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "state"]),
            models.Index(fields=["line", "state"]),
        ]

    def __str__(self) -> str:
        return f"request #{self.pk}"


class NoticeKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    REMINDER = "reminder", _("Reminder")
    EXPIRY = "expiry", _("Barred or suspended")
    ALERT = "alert", _("Holder alert")


class DeliveryState(models.TextChoices):
    INTENT = "intent", _("About to send")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One message to one request, at most once per (request, kind, stage): the
    intent is recorded before the channel is called, so a worker killed
    mid-batch leaves a trace to reconcile instead of a duplicate."""

    TENANT_OPERATOR_PATH = "operator"

    request = models.ForeignKey(
        ReverificationRequest,
        verbose_name=_("request"),
        null=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    stage = models.PositiveSmallIntegerField(_("stage"), default=0, db_default=0)
    channel = models.CharField(_("channel"), max_length=16)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=DeliveryState.choices,
        default=DeliveryState.INTENT,
        db_default=DeliveryState.INTENT,
    )
    error = models.CharField(_("error"), max_length=200, blank=True, db_default="")
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        db_table = "registration_delivery"
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "stage"], name="one_delivery_per_request_kind_stage"
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"delivery #{self.pk}"


class BatchState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    CLAIMED = "claimed", _("Being sent")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class DispatchBatch(models.Model):
    """A range of a campaign's request ids to send one kind of message to. A
    worker claims it with a lease; beat re-queues it when the lease expires."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="batches"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NoticeKind.choices)
    stage = models.PositiveSmallIntegerField(_("stage"), default=0)
    first_request_id = models.BigIntegerField(_("first request id"))
    last_request_id = models.BigIntegerField(_("last request id"))
    state = models.CharField(
        _("state"), max_length=16, choices=BatchState.choices, default=BatchState.QUEUED
    )
    claimed_by = models.CharField(_("claimed by"), max_length=120, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    claims = models.PositiveIntegerField(_("claims"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When its message was last published: a queued batch whose message is
    # overdue (lost with the broker's data) is published again by the sweep.
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # Why its task gave up (after its retries): the error's type, never data.
    error = models.CharField(_("error"), max_length=200, blank=True, db_default="")
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispatch batch")
        verbose_name_plural = _("dispatch batches")
        db_table = "registration_dispatchbatch"
        indexes = [models.Index(fields=["state", "lease_until"])]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "stage", "first_request_id"], name="one_batch_per_range"
            ),
        ]

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.kind})"


class MyLinesChallenge(models.Model):
    """A "lines under my ID" look-up waiting for its one-time code. Holds only
    the blind index of the document and a keyed hash of the code."""

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    code_hash = models.CharField(_("code (hashed)"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # What the code page says the code went to: a masked number (never the
    # clear one), the same shape whether or not the document is known.
    sent_to_masked = models.CharField(_("code sent to (masked)"), max_length=32, blank=True)
    # The one correction the person filed after this code (a second submit
    # shows it again instead of filing another).
    correction = models.ForeignKey(
        CorrectionRequest,
        verbose_name=_("correction request"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lines-under-my-ID code")
        verbose_name_plural = _("lines-under-my-ID codes")
        db_table = "registration_mylineschallenge"

    def __str__(self) -> str:
        return f"challenge {self.uid}"


class DisputeState(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Dismissed")
    SUSPENDED = "suspended", _("Line suspended, re-verification opened")
    CANCELLED = "cancelled", _("Cancelled: the line closed")
    UPHELD = "upheld", _("Upheld: the risk flag was lifted")


class DisputeReason(models.TextChoices):
    """Why the person says the line is not theirs (what the reviewer reads first)."""

    NEVER_REGISTERED = "never_registered", _("I never registered this number")
    GAVE_UP = "gave_up", _("I gave this line up or closed it")
    SOMEONE_ELSE = "someone_else", _("Someone else uses it under my document")
    OTHER = "other", _("Another reason")
    RISK_FLAG = "risk_flag", _("I dispute the risk flag on this line")


DISPUTE_REASON_TEXT_MAX = 200


class Dispute(models.Model):
    """A person reported a line registered under their document as not theirs."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="disputes"
    )
    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="disputes"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=DisputeState.choices, default=DisputeState.OPEN
    )
    reason = models.CharField(
        _("reason"), max_length=32, choices=DisputeReason.choices, default=DisputeReason.OTHER
    )
    reason_text = models.CharField(
        _("in the person's words"), max_length=DISPUTE_REASON_TEXT_MAX, blank=True
    )
    review_by = models.DateField(_("answer due by"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # Set when the subscriber disputes a risk flag (reason ``risk_flag``).
    risk_flag = models.ForeignKey(
        "reverification.RiskFlag",
        verbose_name=_("risk flag"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="disputes",
    )

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        db_table = "registration_dispute"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["line", "person"],
                condition=Q(state="open"),
                name="one_open_dispute_per_line_and_person",
            ),
        ]

    def __str__(self) -> str:
        return f"dispute #{self.pk}"


class CampaignAction(models.TextChoices):
    LAUNCH = "launch", _("Launched")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")
    CLOSE = "close", _("Closed")
    EXTEND = "extend", _("Request extended")


class CampaignEvent(models.Model):
    """Who changed a campaign's state, or extended one of its requests, and
    when: written by the campaign services in the change's own transaction
    (as TransactionEvent is for transactions). No personal data: an extension
    names its request by id; its reason stays on the request."""

    TENANT_OPERATOR_PATH = "campaign__operator"

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="events"
    )
    request = models.ForeignKey(
        ReverificationRequest,
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=16, choices=CampaignAction.choices)
    # The campaign's states, or the request's for an extension.
    from_state = models.CharField(_("from state"), max_length=16, blank=True)
    to_state = models.CharField(_("to state"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=150)
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")
        ordering = ["campaign", "at", "id"]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.get_action_display()}"


class StayReminder(models.Model):
    """One reminder to a visitor that their line's stay ends: at most one per
    (line, end of stay, stage), the row written before the channel is called
    (a new end of stay reminds again; the same one never twice)."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="stay_reminders"
    )
    stay_until = models.DateField(_("stay until"))
    stage = models.PositiveSmallIntegerField(_("days before"))
    channel = models.CharField(_("channel"), max_length=16)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("end-of-stay reminder")
        verbose_name_plural = _("end-of-stay reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["line", "stay_until", "stage"], name="one_stay_reminder_per_stage"
            ),
        ]

    def __str__(self) -> str:
        return f"stay reminder #{self.pk}"

    @property
    def channel_key(self) -> int:
        # Out of the ranges of request deliveries (positive) and holder
        # alerts (small negative ids) on the same channels.
        return -(STAY_KEY_OFFSET + self.pk)


STAY_KEY_OFFSET = 10**12


class RiskTier(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")


class RiskFlagState(models.TextChoices):
    OPEN = "open", _("Open: waiting for re-verification")
    CLEARED = "cleared", _("Cleared: the holder re-verified")
    LAPSED = "lapsed", _("Lapsed: the line was suspended")
    LIFTED = "lifted", _("Lifted by a compliance officer")
    SUPERSEDED = "superseded", _("Superseded by a higher tier")


class RiskSource(models.TextChoices):
    COMPLIANCE = "compliance", _("Compliance officer")
    RISK_FEED = "risk_feed", _("Risk feed partner")
    VELOCITY = "velocity", _("Velocity rule")


RISK_REASON_MAX = 300


class RiskFlag(models.Model):
    """A line flagged as risky (an anti-fraud centre, a compliance officer, a
    velocity rule). High: outgoing barred at once and an in-store
    re-verification due within 24 hours; medium: a normal request. One open
    flag per line (a unique partial index)."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="risk_flags"
    )
    tier = models.CharField(_("tier"), max_length=8, choices=RiskTier.choices)
    reason = models.CharField(_("reason"), max_length=RISK_REASON_MAX)
    source = models.CharField(_("source"), max_length=16, choices=RiskSource.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=RiskFlagState.choices, default=RiskFlagState.OPEN
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    raised_by_label = models.CharField(_("raised by (label)"), max_length=150)
    request = models.ForeignKey(
        ReverificationRequest,
        verbose_name=_("re-verification request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_flags",
    )
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(_("created at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolution_note = models.CharField(_("resolution note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"], condition=Q(state="open"), name="one_open_risk_flag_per_line"
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return gettext("risk flag #%(id)s") % {"id": self.pk}


class VelocityRule(models.TextChoices):
    DOCUMENT = "document", _("Openings for one document")
    STORE = "store", _("Openings at one store")


class VelocityAlert(models.Model):
    """One burst of openings past a velocity rule: raised once, then extended
    while openings of the same key keep coming within the rule's window. The
    key is the document's blind index or the store's id, never a document
    number."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    rule = models.CharField(_("rule"), max_length=16, choices=VelocityRule.choices)
    key = models.CharField(_("key"), max_length=128)
    store = models.ForeignKey(
        "operators.Store",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    openings = models.PositiveIntegerField(_("openings"), default=0)
    first_at = models.DateTimeField(_("first opening"))
    last_at = models.DateTimeField(_("last opening"))
    created_at = models.DateTimeField(_("raised at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("velocity alert")
        verbose_name_plural = _("velocity alerts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["operator", "rule", "key", "last_at"])]

    def __str__(self) -> str:
        return gettext("velocity alert #%(id)s") % {"id": self.pk}
