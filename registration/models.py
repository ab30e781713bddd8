"""Lines, the number inventory, the service catalog and business transactions.

No personal data is stored here in clear: holders are identity.Person rows,
and a landline's installation address is encrypted under the holder's own
data key (see identity.vault.seal_value)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from identity.models import Consent, Person
from operators.models import Operator, Store


class LineKind(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    LANDLINE = "landline", "Landline"


class LineStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    BARRED_OUTGOING = "barred_outgoing", "Outgoing calls barred"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


class NumberStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    ASSIGNED = "assigned", "Assigned"
    QUARANTINED = "quarantined", "Quarantined"


class PhoneNumber(models.Model):
    """One number of an operator's inventory."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="numbers")
    number = models.CharField(max_length=16, unique=True, help_text="E.164")
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    status = models.CharField(
        max_length=16, choices=NumberStatus.choices, default=NumberStatus.AVAILABLE
    )
    reserved_for = models.ForeignKey(
        "Transaction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    quarantined_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["operator", "kind", "status", "number"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="reserved") | Q(reserved_for__isnull=False),
                name="reserved_number_names_its_transaction",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Service(models.Model):
    """An added service item of the operator's catalog."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="services")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    line_kinds = models.JSONField(default=list, help_text='e.g. ["mobile", "landline"]')
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["operator", "code"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "code"], name="service_code_per_operator"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Line(models.Model):
    TENANT_OPERATOR_PATH = "operator"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=16, help_text="E.164")
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="lines")
    holder = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="lines")
    status = models.CharField(max_length=20, choices=LineStatus.choices, default=LineStatus.ACTIVE)
    installation_address_enc = models.BinaryField(null=True, editable=False)
    status_reason = models.CharField(max_length=40, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="lines")
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            # A number is never given to two open lines.
            models.UniqueConstraint(
                fields=["number"],
                condition=~Q(status="closed"),
                name="one_open_line_per_number",
            ),
        ]
        indexes = [
            models.Index(fields=["holder", "kind", "status"]),
            models.Index(fields=["operator", "number"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def address_subject(self) -> str:
        return f"line:{self.uid}"


class LineHolding(models.Model):
    """Who held a line, from when to when (history kept across transfers)."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="holdings")
    holder = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey("Transaction", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["line", "started_at"]

    def __str__(self) -> str:
        return f"{self.line} holding from {self.started_at:%Y-%m-%d}"


class LineAddress(models.Model):
    """Installation addresses of a landline over time (encrypted, holder's key)."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="addresses")
    holder = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    address_enc = models.BinaryField()
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey("Transaction", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["line", "started_at"]

    def __str__(self) -> str:
        return f"{self.line} address from {self.started_at:%Y-%m-%d}"


class LineService(models.Model):
    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="services")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    activated_at = models.DateTimeField()
    deactivated_at = models.DateTimeField(null=True, blank=True)
    transaction = models.ForeignKey("Transaction", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["line", "service"],
                condition=Q(deactivated_at__isnull=True),
                name="service_active_once_per_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} on {self.line}"


class TransactionKind(models.TextChoices):
    MOBILE_OPEN = "mobile_open", "Mobile account opening"
    LANDLINE_INSTALL = "landline_install", "Landline installation"
    LANDLINE_RELOCATE = "landline_relocate", "Landline relocation"
    LANDLINE_TRANSFER = "landline_transfer", "Landline transfer"
    MOBILE_TRANSFER = "mobile_transfer", "Mobile account transfer"
    SERVICE_ADD = "service_add", "Added service item"


class TransactionState(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", "Waiting for the authority"
    COMPLETED = "completed", "Completed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class Transaction(models.Model):
    """One business transaction at a store, with every state change recorded.
    A refused transaction keeps only the refusal code and message (never
    personal data)."""

    TENANT_OPERATOR_PATH = "operator"
    TENANT_STORE_PATH = "store"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=24, choices=TransactionKind.choices)
    state = models.CharField(max_length=24, choices=TransactionState.choices)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="transactions")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transactions")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transactions"
    )
    line = models.ForeignKey(
        Line, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    line_kind = models.CharField(max_length=16, choices=LineKind.choices)
    number = models.CharField(max_length=16, blank=True, help_text="Requested or claimed, E.164")
    applicant = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_holder = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent = models.ForeignKey(
        Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The new installation address while the transaction waits (holder's key).
    pending_address_enc = models.BinaryField(null=True, editable=False)
    # The identities as given, while the transaction waits for the authority:
    # the applicant's (or, in a transfer, the current holder's) under
    # ``applicant``'s data key, the new holder's under theirs, each bound to
    # this transaction. The persons' own fields are not touched until the
    # authority matches; both are erased once the transaction ends.
    applicant_identity_enc = models.BinaryField(null=True, editable=False)
    new_holder_identity_enc = models.BinaryField(null=True, editable=False)
    verification = models.JSONField(default=dict, blank=True)
    verification_attempts = models.PositiveIntegerField(default=0)
    next_verification_at = models.DateTimeField(null=True, blank=True)
    refusal_code = models.CharField(max_length=40, blank=True)
    refusal_message = models.CharField(max_length=300, blank=True)
    notice_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["operator", "state", "created_at"]),
            models.Index(fields=["state", "next_verification_at"]),
            models.Index(fields=["applicant", "line_kind", "state"]),
            models.Index(fields=["new_holder", "line_kind", "state"]),
        ]

    def __str__(self) -> str:
        return self.reference

    def held_identity_context(self, party: str) -> str:
        """What binds a party's held identity to this transaction."""
        return f"transaction:{self.uid}|{party}"


class TransactionEvent(models.Model):
    TENANT_OPERATOR_PATH = "transaction__operator"
    TENANT_STORE_PATH = "transaction__store"

    transaction = models.ForeignKey(Transaction, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["transaction", "at", "id"]

    def __str__(self) -> str:
        return f"{self.transaction} → {self.to_state}"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST with an Idempotency-Key, per user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    method_path = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # While the first request runs (no status yet): until when its claim holds.
    # A worker killed mid-request leaves the claim behind; past this time a
    # retry takes it over instead of getting 409 until the record is purged.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class CampaignState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PLANNING = "planning", "Planning"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    FINISHED = "finished", "Finished"


def default_campaign_reminders() -> list[int]:
    return [14, 7, 2]


def default_campaign_channels() -> list[str]:
    return ["file"]


class Campaign(models.Model):
    """A re-verification campaign: which lines, by when, how to tell them."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=120)
    criteria = models.JSONField(default=dict)
    deadline = models.DateField()
    reminder_days = models.JSONField(default=default_campaign_reminders)
    channels = models.JSONField(default=default_campaign_channels)
    notice_text_zh = models.TextField(blank=True)
    notice_text_en = models.TextField(blank=True)
    state = models.CharField(
        max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    planned_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The planning message: when it was last published (launch time until the
    # sweep re-publishes it) and the lease of the worker planning it.
    plan_enqueued_at = models.DateTimeField(null=True, blank=True)
    plan_lease_until = models.DateTimeField(null=True, blank=True)
    # The last failure of this campaign's step in the re-verification cycle
    # (the step and the error's type, never data); cleared by the next run.
    cycle_error = models.CharField(max_length=200, blank=True, default="")
    cycle_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class RequestState(models.TextChoices):
    PENDING = "pending", "Waiting for the subscriber"
    VERIFIED = "verified", "Verified"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class ReverificationRequest(models.Model):
    """One line asked to re-verify in one campaign. Its link token is an HMAC
    of its id under a server key: unguessable, repeatable for reminders, and
    never stored."""

    TENANT_OPERATOR_PATH = "operator"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="requests")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="reverifications")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=16, choices=RequestState.choices, default=RequestState.PENDING
    )
    deadline = models.DateField()
    created_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # db_default: planning inserts rows with raw INSERT … SELECT.
    failed_attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.CharField(max_length=200, blank=True, db_default="")
    extended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
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
    NOTICE = "notice", "Notice"
    REMINDER = "reminder", "Reminder"
    EXPIRY = "expiry", "Barred or suspended"
    ALERT = "alert", "Holder alert"


class DeliveryState(models.TextChoices):
    INTENT = "intent", "About to send"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One message to one request, at most once per (request, kind, stage): the
    intent is recorded before the channel is called, so a worker killed
    mid-batch leaves a trace to reconcile instead of a duplicate."""

    TENANT_OPERATOR_PATH = "operator"

    request = models.ForeignKey(
        ReverificationRequest, null=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    stage = models.PositiveSmallIntegerField(default=0, db_default=0)
    channel = models.CharField(max_length=16)
    state = models.CharField(
        max_length=16,
        choices=DeliveryState.choices,
        default=DeliveryState.INTENT,
        db_default=DeliveryState.INTENT,
    )
    error = models.CharField(max_length=200, blank=True, db_default="")
    # Holder alerts have no request: this key makes each one unique instead.
    alert_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "stage"], name="one_delivery_per_request_kind_stage"
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"delivery #{self.pk}"


class BatchState(models.TextChoices):
    QUEUED = "queued", "Queued"
    CLAIMED = "claimed", "Being sent"
    DONE = "done", "Done"


class DispatchBatch(models.Model):
    """A range of a campaign's request ids to send one kind of message to. A
    worker claims it with a lease; beat re-queues it when the lease expires."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="batches")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    stage = models.PositiveSmallIntegerField(default=0)
    first_request_id = models.BigIntegerField()
    last_request_id = models.BigIntegerField()
    state = models.CharField(max_length=16, choices=BatchState.choices, default=BatchState.QUEUED)
    claimed_by = models.CharField(max_length=120, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # When its message was last published: a queued batch whose message is
    # overdue (lost with the broker's data) is published again by the sweep.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "lease_until"])]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "kind", "stage", "first_request_id"], name="one_batch_per_range"
            ),
        ]

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.kind})"


class HolderAlert(models.Model):
    """The intent to alert a holder's other lines about one transaction, written
    with the transaction: the row a lost message leaves behind, so that the
    sweep can publish it again. Claimed with a lease; done once sent."""

    TENANT_OPERATOR_PATH = "transaction__operator"

    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="holder_alert"
    )
    created_at = models.DateTimeField()
    enqueued_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                condition=Q(done_at__isnull=True),
                name="holder_alert_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"holder alert for transaction #{self.transaction_id}"


class MyLinesChallenge(models.Model):
    """A "lines under my ID" look-up waiting for its one-time code. Holds only
    the blind index of the document and a keyed hash of the code."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, null=True, on_delete=models.PROTECT, related_name="+")
    code_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"challenge {self.uid}"


class DisputeState(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    SUSPENDED = "suspended", "Line suspended, re-verification opened"


class Dispute(models.Model):
    """A person reported a line registered under their document as not theirs."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="disputes")
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="disputes")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=DisputeState.choices, default=DisputeState.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
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
