"""Lines, the number inventory, the service catalog and business transactions.

No personal data is stored here in clear: holders are identity.Person rows,
and a landline's installation address is encrypted under the holder's own
data key (see identity.vault.seal_value)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from identity.models import Consent, Organisation, Person, Portrait
from operators.models import Operator, Store


class LineKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")


class LineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    BARRED_OUTGOING = "barred_outgoing", _("Outgoing calls barred")
    SUSPENDED = "suspended", _("Suspended")
    CLOSED = "closed", _("Closed")


# Why a line's status last changed (``Line.status_reason``), as people read it.
# The codes are written by re-verification and disputes; a code not listed
# here is shown as "other".
LINE_STATUS_REASONS = {
    "reverified": _("re-verified"),
    "reverification_expired": _("not re-verified in time"),
    "extension": _("deadline extended"),
    "disputed": _("reported “not mine”"),
    "stay_ended": _("the visitor's permitted stay ended"),
}


def line_status_reason_label(code: str) -> str:
    if not code:
        return ""
    return str(LINE_STATUS_REASONS.get(code, _("other reason")))


class CloseReason(models.TextChoices):
    """Why a line closed: the holder's own request (``line_close``) or one of
    the operator's reasons of ``POST /api/v1/lines/{number}/close/``."""

    HOLDER_REQUEST = "holder_request", _("At the holder's request")
    FRAUD = "fraud", _("Fraud")
    NON_PAYMENT = "non_payment", _("Non-payment")
    DECEASED = "deceased", _("Holder deceased")
    UNVERIFIED = "unverified", _("Identity not verified")
    COURT_ORDER = "court_order", _("Court order")
    OTHER = "other", _("Other reason")


# The reasons an operator closes a line for (the API's and the console's choice).
OPERATOR_CLOSE_REASONS = [
    reason for reason in CloseReason if reason is not CloseReason.HOLDER_REQUEST
]


class NumberStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    ASSIGNED = "assigned", _("Assigned")
    QUARANTINED = "quarantined", _("Quarantined")


class PhoneNumber(models.Model):
    """One number of an operator's inventory."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="numbers"
    )
    number = models.CharField(_("number"), max_length=16, unique=True, help_text=_("E.164"))
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=NumberStatus.choices, default=NumberStatus.AVAILABLE
    )
    reserved_for = models.ForeignKey(
        "Transaction",
        verbose_name=_("reserved for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    quarantined_until = models.DateTimeField(_("quarantined until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
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

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="services"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    line_kinds = models.JSONField(
        _("line kinds"), default=list, help_text=_('e.g. ["mobile", "landline"]')
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["operator", "code"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "code"], name="service_code_per_operator"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Line(models.Model):
    TENANT_OPERATOR_PATH = "operator"

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("number"), max_length=16, help_text=_("E.164"))
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind.choices)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="lines"
    )
    holder = models.ForeignKey(
        Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="lines"
    )
    status = models.CharField(
        _("status"), max_length=20, choices=LineStatus.choices, default=LineStatus.ACTIVE
    )
    installation_address_enc = models.BinaryField(
        _("installation address enc"), null=True, editable=False
    )
    status_reason = models.CharField(_("status reason"), max_length=40, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="lines"
    )
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Why it closed (CloseReason), set with ``closed_at`` by registration.closing.
    close_reason = models.CharField(
        _("close reason"), max_length=24, choices=CloseReason.choices, blank=True, default=""
    )
    # When this line took a number that an earlier, closed line had: the
    # number was used before (the receipt says so; the CAMARA number-recycling
    # check answers from it). Null for a number's first line.
    recycled_at = models.DateTimeField(_("number recycled at"), null=True, blank=True)
    # A visitor's line (holder on a foreign passport): the last day of their
    # visa or entry permit; the daily cycle bars the line when it comes.
    stay_until = models.DateField(_("stay until"), null=True, blank=True)
    # Issue 15: an organisation's line. The organisation is the holder the
    # surfaces show; ``holder`` is then its current handler (the person who
    # answers for it: alerts and re-verification go to them), and the line
    # counts toward the organisation's cap, not the handler's own.
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lines",
    )
    # The verified person who actually uses an organisation's line (its end
    # user): the line counts toward that person's own cap.
    user = models.ForeignKey(
        Person,
        verbose_name=_("end user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="used_lines",
    )

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
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

    @property
    def status_reason_label(self) -> str:
        """Why the line is in its status, in the reader's language."""
        return line_status_reason_label(self.status_reason)


class LineHolding(models.Model):
    """Who held a line, from when to when (history kept across transfers)."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="holdings"
    )
    holder = models.ForeignKey(
        Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    transaction = models.ForeignKey(
        "Transaction", verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("line holding")
        verbose_name_plural = _("line holdings")
        ordering = ["line", "started_at"]

    def __str__(self) -> str:
        return f"{self.line} holding from {self.started_at:%Y-%m-%d}"


class LineAddress(models.Model):
    """Installation addresses of a landline over time (encrypted, holder's key)."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="addresses"
    )
    holder = models.ForeignKey(
        Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="+"
    )
    address_enc = models.BinaryField(_("installation address (encrypted)"))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    transaction = models.ForeignKey(
        "Transaction", verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("line address")
        verbose_name_plural = _("line addresses")
        ordering = ["line", "started_at"]

    def __str__(self) -> str:
        return f"{self.line} address from {self.started_at:%Y-%m-%d}"


class LineService(models.Model):
    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="services"
    )
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="+"
    )
    activated_at = models.DateTimeField(_("activated at"))
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    transaction = models.ForeignKey(
        "Transaction", verbose_name=_("transaction"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("line service")
        verbose_name_plural = _("line services")
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
    MOBILE_OPEN = "mobile_open", _("Mobile account opening")
    LANDLINE_INSTALL = "landline_install", _("Landline installation")
    LANDLINE_RELOCATE = "landline_relocate", _("Landline relocation")
    LANDLINE_TRANSFER = "landline_transfer", _("Landline transfer")
    MOBILE_TRANSFER = "mobile_transfer", _("Mobile account transfer")
    SERVICE_ADD = "service_add", _("Added service item")
    LINE_CLOSE = "line_close", _("Line closing")
    SIM_REPLACE = "sim_replace", _("SIM replacement")


class TransactionState(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", _("Waiting for the authority")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    PENDING_REVIEW = "pending_review", _("Waiting for a portrait review")


class Transaction(models.Model):
    """One business transaction at a store, with every state change recorded.
    A refused transaction keeps only the refusal code and message (never
    personal data)."""

    TENANT_OPERATOR_PATH = "operator"
    TENANT_STORE_PATH = "store"

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=24, choices=TransactionKind.choices)
    state = models.CharField(_("state"), max_length=24, choices=TransactionState.choices)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="transactions"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="transactions"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    line = models.ForeignKey(
        Line,
        verbose_name=_("line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    # A visitor's opening: the stay given, for the line the opening makes.
    stay_until = models.DateField(_("stay until"), null=True, blank=True)
    line_kind = models.CharField(_("line kind"), max_length=16, choices=LineKind.choices)
    number = models.CharField(
        _("number"), max_length=16, blank=True, help_text=_("Requested or claimed, E.164")
    )
    applicant = models.ForeignKey(
        Person,
        verbose_name=_("applicant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    new_holder = models.ForeignKey(
        Person,
        verbose_name=_("new holder"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent = models.ForeignKey(
        Consent,
        verbose_name=_("consent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The new installation address while the transaction waits (holder's key).
    pending_address_enc = models.BinaryField(_("pending address enc"), null=True, editable=False)
    # The identities as given, while the transaction waits for the authority:
    # the applicant's (or, in a transfer, the current holder's) under
    # ``applicant``'s data key, the new holder's under theirs, each bound to
    # this transaction. The persons' own fields are not touched until the
    # authority matches; both are erased once the transaction ends.
    applicant_identity_enc = models.BinaryField(
        _("applicant identity enc"), null=True, editable=False
    )
    new_holder_identity_enc = models.BinaryField(
        _("new holder identity enc"), null=True, editable=False
    )
    verification = models.JSONField(_("verification"), default=dict, blank=True)
    verification_attempts = models.PositiveIntegerField(_("verification attempts"), default=0)
    next_verification_at = models.DateTimeField(_("next verification at"), null=True, blank=True)
    # The last failure of a background task on this transaction (its check
    # with the authority): the error's type, never data.
    last_error = models.CharField(_("last error"), max_length=200, blank=True, db_default="")
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    refusal_code = models.CharField(_("refusal code"), max_length=40, blank=True)
    refusal_message = models.CharField(_("refusal message"), max_length=300, blank=True)
    notice_hash = models.CharField(_("notice hash"), max_length=64, blank=True)
    # The SIM the transaction brings (an opening's, a replacement's), as the
    # SimCard it becomes will keep it: its kind, last 4 digits and keyed
    # digest, never the identifier in clear (registration.sims).
    sim_kind = models.CharField(_("SIM kind"), max_length=8, blank=True, default="")
    sim_last4 = models.CharField(_("SIM last 4 digits"), max_length=4, blank=True, default="")
    sim_digest = models.CharField(_("SIM digest"), max_length=64, blank=True, default="")
    # The portrait check (registration.portrait_check): the portrait taken, its
    # score and the check's outcome (PortraitOutcome); never the image itself.
    portrait = models.ForeignKey(
        Portrait,
        verbose_name=_("portrait"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
    )
    portrait_score = models.FloatField(_("portrait score"), null=True, blank=True)
    portrait_liveness = models.CharField(_("portrait liveness"), max_length=16, blank=True)
    portrait_outcome = models.CharField(
        _("portrait outcome"), max_length=16, blank=True, db_default=""
    )
    # Issue 15: who else took part. An organisation's opening names the
    # organisation and its handler (who is also ``applicant``: they consent
    # for their own data); a representative's transaction names the agent; a
    # minor's, the guardian and their relation. The persons are encrypted
    # under their own keys (identity.Person); the authorization's reference
    # and validity are the organisation's or the holder's letter.
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transactions",
    )
    handler = models.ForeignKey(
        Person,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agent = models.ForeignKey(
        Person,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    guardian = models.ForeignKey(
        Person,
        verbose_name=_("guardian"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    guardian_relation = models.CharField(
        _("guardian relation"), max_length=16, blank=True, db_default=""
    )
    authorization_reference = models.CharField(
        _("authorization reference"), max_length=64, blank=True, db_default=""
    )
    authorization_valid_until = models.DateField(
        _("authorization valid until"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
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

    transaction = models.ForeignKey(
        Transaction, verbose_name=_("transaction"), on_delete=models.CASCADE, related_name="events"
    )
    from_state = models.CharField(_("from state"), max_length=24, blank=True)
    to_state = models.CharField(_("to state"), max_length=24)
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
        verbose_name = _("transaction event")
        verbose_name_plural = _("transaction events")
        ordering = ["transaction", "at", "id"]

    def __str__(self) -> str:
        return f"{self.transaction} → {self.to_state}"


class IdempotencyRecord(models.Model):
    """The stored answer to a POST with an Idempotency-Key, per user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=128)
    method_path = models.CharField(_("method path"), max_length=200)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # While the first request runs (no status yet): until when its claim holds.
    # A worker killed mid-request leaves the claim behind; past this time a
    # retry takes it over instead of getting 409 until the record is purged.
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class HolderAlert(models.Model):
    """The intent to alert a holder's other lines about one transaction, written
    with the transaction: the row a lost message leaves behind, so that the
    sweep can publish it again. Claimed with a lease; done once sent."""

    TENANT_OPERATOR_PATH = "transaction__operator"

    # The alert is about a transaction, or about a line's closing (which an
    # operator may do without one): exactly one of the two.
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("transaction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holder_alert",
    )
    closure = models.OneToOneField(
        "LineClosure",
        verbose_name=_("line closure"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holder_alert",
    )
    created_at = models.DateTimeField(_("created at"))
    enqueued_at = models.DateTimeField(_("enqueued at"))
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    error = models.CharField(_("error"), max_length=200, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("holder alert")
        verbose_name_plural = _("holder alerts")
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                condition=Q(done_at__isnull=True),
                name="holder_alert_waiting",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(transaction__isnull=True) ^ Q(closure__isnull=True),
                name="holder_alert_about_one_thing",
            ),
        ]

    def __str__(self) -> str:
        if self.closure_id is not None:
            return f"holder alert for closure #{self.closure_id}"
        return f"holder alert for transaction #{self.transaction_id}"


class AlertMessageState(models.TextChoices):
    INTENT = "intent", gettext_lazy("about to send")
    SENT = "sent", gettext_lazy("sent")
    FAILED = "failed", gettext_lazy("failed")


class HolderAlertMessage(models.Model):
    """One message of a holder alert: to one of the holder's other lines, at
    most once per (alert, line). The intent is recorded before the channel is
    called, so a worker killed between the two leaves a row to reconcile
    against the channel (``already_sent``) instead of a second message. The
    channel knows it by :attr:`channel_key` (the negated id: request
    deliveries use positive ids on the same channels, so the two never meet)."""

    TENANT_OPERATOR_PATH = "alert__transaction__operator"

    alert = models.ForeignKey(
        HolderAlert, verbose_name=_("alert"), on_delete=models.PROTECT, related_name="messages"
    )
    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=AlertMessageState.choices,
        default=AlertMessageState.INTENT,
    )
    error = models.CharField(_("error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("holder alert message")
        verbose_name_plural = _("holder alert messages")
        constraints = [
            models.UniqueConstraint(fields=["alert", "line"], name="one_alert_message_per_line")
        ]

    def __str__(self) -> str:
        return f"holder alert message #{self.pk}"

    @property
    def channel_key(self) -> int:
        return -self.pk


class LineClosure(models.Model):
    """A line's closing, once per line: why, by whom, through which
    transaction (the holder's ``line_close``; none when the operator closed
    it), and until when its number rests. Written by registration.closing in
    the closing's own database transaction."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.OneToOneField(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="closure"
    )
    reason = models.CharField(_("reason"), max_length=24, choices=CloseReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("transaction"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closure",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("closed by"), max_length=150)
    closed_at = models.DateTimeField(_("closed at"))
    number_available_at = models.DateTimeField(_("number available from"))

    class Meta:
        verbose_name = _("line closing")
        verbose_name_plural = _("line closings")
        ordering = ["-closed_at"]

    def __str__(self) -> str:
        return f"closing of line #{self.line_id}"


class SimKind(models.TextChoices):
    PHYSICAL = "physical", _("Physical SIM")
    ESIM = "esim", _("eSIM")


class SimCard(models.Model):
    """One SIM (a card's ICCID or an eSIM's EID) a line has had, history kept.
    The identifier is never stored in clear: its last 4 digits (all any
    surface shows) and a keyed digest (to tell two SIMs apart). ``changed_at``
    is set only when the SIM replaced another (``sim_replace``): a line's
    first SIM, given at its opening, is not a SIM change."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="sim_cards"
    )
    kind = models.CharField(_("SIM kind"), max_length=8, choices=SimKind.choices)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        related_name="sim_card",
    )
    installed_at = models.DateTimeField(_("installed at"))
    changed_at = models.DateTimeField(_("SIM changed at"), null=True, blank=True)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SIM change")
        verbose_name_plural = _("SIM changes")
        ordering = ["-installed_at"]
        constraints = [
            # A line has one SIM in use at a time.
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(replaced_at__isnull=True),
                name="one_sim_in_use_per_line",
            ),
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9]{4}$"), name="sim_last4_is_four_digits"
            ),
        ]
        indexes = [models.Index(fields=["line", "changed_at"])]

    def __str__(self) -> str:
        return gettext("SIM ending %(last4)s") % {"last4": self.last4}


class LegalHold(models.Model):
    """A hold on a line (a disclosure request, a court case): while it is not
    lifted the line cannot be closed and its holder's data cannot be
    shredded. Set and lifted by a compliance officer, each with a reason."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="legal_holds"
    )
    reason = models.CharField(_("reason"), max_length=300)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"))
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.CharField(_("reason for lifting"), max_length=300, blank=True)
    # Set from a disclosure request on the lines it names (registration.disclosures).
    disclosure = models.ForeignKey(
        "Disclosure",
        verbose_name=_("disclosure request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="legal_holds",
    )

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["line", "-set_at"]
        constraints = [
            # At most one hold in force per line.
            models.UniqueConstraint(
                fields=["line"], condition=Q(lifted_at__isnull=True), name="one_legal_hold_per_line"
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_by__isnull=False),
                name="lifted_hold_names_who_lifted_it",
            ),
        ]

    def __str__(self) -> str:
        # Shown as the row's title under the line in the console.
        return gettext("hold #%(id)s") % {"id": self.pk}


class PartnerCall(models.Model):
    """One call of a partner (a bank, an app) to a CAMARA endpoint: who asked,
    which endpoint, about which number and what it was told. The number is
    kept only as a keyed digest (equal numbers give equal digests, nothing
    without the index key) and masked, never in clear. Written by
    ``registration.partner_api`` for every call that reached the endpoint,
    refused ones included."""

    TENANT_OPERATOR_PATH = "operator"

    partner = models.ForeignKey(
        "operators.Partner",
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        related_name="calls",
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    endpoint = models.CharField(_("endpoint"), max_length=64)
    number_digest = models.CharField(_("number digest"), max_length=64, blank=True)
    number_masked = models.CharField(_("number (masked)"), max_length=24, blank=True)
    status_code = models.PositiveSmallIntegerField(_("status code"))
    answer = models.JSONField(_("answer"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("called at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("partner call")
        verbose_name_plural = _("partner calls")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["partner", "created_at"])]

    def __str__(self) -> str:
        return f"{self.endpoint} #{self.pk}"


# Named by historical migrations (0002_campaigns): campaigns now live in
# reverification.models, which has its own copies of these defaults.
def default_campaign_reminders() -> list[int]:
    return [14, 7, 2]


def default_campaign_channels() -> list[str]:
    return ["file"]


# --- Disclosure requests (law enforcement, courts) -----------------------------------------


class DisclosureState(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Waiting for a second person's approval")
    APPROVED = "approved", _("Approved, not released yet")
    REFUSED = "refused", _("Refused")
    RELEASED = "released", _("Released")


class AuthorityType(models.TextChoices):
    """What kind of authority asked, for the yearly transparency counts."""

    POLICE = "police", _("Police")
    PROSECUTOR = "prosecutor", _("Prosecutor")
    COURT = "court", _("Court")
    NATIONAL_SECURITY = "national_security", _("National security")
    REGULATOR = "regulator", _("Regulator")
    OTHER = "other", _("Other authority")


# What an authority may ask for about a number's holder, in this order.
DISCLOSURE_FIELDS = ("name", "id_number", "address", "lines")
DISCLOSURE_FIELD_LABELS = {
    "name": _("name"),
    "id_number": _("document number"),
    "address": _("address"),
    "lines": _("the holder's lines"),
}

# A disclosure's columns each transition may write (registration.disclosures).
_DISCLOSURE_TRANSITIONS = {
    (DisclosureState.PENDING_APPROVAL, DisclosureState.APPROVED): {
        "state",
        "decided_by",
        "decided_at",
    },
    (DisclosureState.PENDING_APPROVAL, DisclosureState.REFUSED): {
        "state",
        "decided_by",
        "decided_at",
        "refusal_reason",
    },
    (DisclosureState.APPROVED, DisclosureState.RELEASED): {
        "state",
        "released_by",
        "released_at",
        "release_count",
    },
}


class DisclosureQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("A disclosure changes only through registration.disclosures.")

    def delete(self):
        raise PermissionError("A disclosure request is never deleted.")

    def bulk_update(self, *args, **kwargs):
        raise PermissionError("A disclosure changes only through registration.disclosures.")


class Disclosure(models.Model):
    """A request of an authority for the data of the holders of some numbers:
    who asked, under which legal basis and case, for which fields, filed by
    whom; decided by a second person; released once. Never deleted, and
    nothing of it changes once decided but its release (``save`` lets only
    the services' transitions through; the admin is read-only)."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    authority = models.CharField(_("requesting authority"), max_length=200)
    authority_type = models.CharField(
        _("type of authority"),
        max_length=24,
        choices=AuthorityType.choices,
        default=AuthorityType.OTHER,
    )
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    case_reference = models.CharField(_("case reference"), max_length=100)
    document_reference = models.CharField(
        _("document reference"), max_length=200, blank=True, default=""
    )
    fields = models.JSONField(_("fields asked for"), default=list)
    state = models.CharField(
        _("state"),
        max_length=20,
        choices=DisclosureState.choices,
        default=DisclosureState.PENDING_APPROVAL,
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    filed_at = models.DateTimeField(_("filed at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    refusal_reason = models.CharField(_("reason for refusing"), max_length=300, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    # 0 or 1: the database refuses a second release too.
    release_count = models.PositiveSmallIntegerField(_("releases"), default=0)

    objects = DisclosureQuerySet.as_manager()

    class Meta:
        verbose_name = _("disclosure request")
        verbose_name_plural = _("disclosure requests")
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(release_count__lte=1), name="disclosure_released_at_most_once"
            ),
            models.CheckConstraint(
                condition=~Q(state="released") | Q(released_at__isnull=False, release_count=1),
                name="released_disclosure_names_its_release",
            ),
            models.CheckConstraint(
                condition=Q(state="pending_approval") | Q(decided_by__isnull=False),
                name="decided_disclosure_names_who_decided",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("filed_by")),
                name="disclosure_decided_by_a_second_person",
            ),
        ]
        indexes = [models.Index(fields=["operator", "filed_at"])]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stored_state = self.__dict__.get("state") if self.pk is not None else None

    def __str__(self) -> str:
        return gettext("disclosure #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
        if self.pk is None:
            super().save(*args, **kwargs)
            self._stored_state = self.state
            return
        allowed = _DISCLOSURE_TRANSITIONS.get((self._stored_state, self.state))
        written = set(kwargs.get("update_fields") or ())
        if allowed is None or not written or not written <= allowed:
            raise PermissionError("A disclosure changes only through registration.disclosures.")
        super().save(*args, **kwargs)
        self._stored_state = self.state

    def delete(self, *args, **kwargs):
        raise PermissionError("A disclosure request is never deleted.")


class DisclosureLine(models.Model):
    """A number named by a disclosure request, as the line it named when filed."""

    TENANT_OPERATOR_PATH = "disclosure__operator"

    disclosure = models.ForeignKey(
        Disclosure, verbose_name=_("disclosure"), on_delete=models.PROTECT, related_name="lines"
    )
    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="disclosures"
    )
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        verbose_name = _("number asked for")
        verbose_name_plural = _("numbers asked for")
        ordering = ["disclosure", "position"]
        constraints = [
            models.UniqueConstraint(fields=["disclosure", "line"], name="disclosure_line_once"),
        ]

    def __str__(self) -> str:
        return f"{self.disclosure_id}/{self.position}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("A disclosure's numbers do not change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("A disclosure's numbers are never deleted.")


class PortraitOutcome(models.TextChoices):
    WAITING = "waiting", _("Waiting for the matcher")
    PASSED = "passed", _("Passed")
    REVIEW = "review", _("Sent to review")
    APPROVED = "approved", _("Approved by a reviewer")
    REFUSED = "refused", _("Refused")


class ReviewState(models.TextChoices):
    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    EXPIRED = "expired", _("Expired")


class PortraitReview(models.Model):
    """A transaction whose portrait a second person decides (four eyes): a
    score between the operator's thresholds, liveness not checked, a capture
    exception, or no reference portrait."""

    TENANT_OPERATOR_PATH = "operator"
    TENANT_STORE_PATH = "store"

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    transaction = models.OneToOneField(
        Transaction,
        verbose_name=_("transaction"),
        on_delete=models.PROTECT,
        related_name="portrait_review",
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=16, choices=ReviewState.choices, default=ReviewState.OPEN
    )
    # Why it came to review: score, liveness_not_checked, exception, no_reference.
    cause = models.CharField(_("cause"), max_length=24)
    due_at = models.DateTimeField(_("due at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("decision reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portrait review")
        verbose_name_plural = _("portrait reviews")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["state", "due_at"], name="portrait_review_due")]

    def __str__(self) -> str:
        return f"Portrait review #{self.pk}"


class LineUser(models.Model):
    """Who used an organisation's line, from when to when (issue 15): the
    verified person its handler named, with that person's consent."""

    TENANT_OPERATOR_PATH = "line__operator"

    line = models.ForeignKey(
        Line, verbose_name=_("line"), on_delete=models.PROTECT, related_name="users"
    )
    user = models.ForeignKey(
        Person, verbose_name=_("end user"), on_delete=models.PROTECT, related_name="+"
    )
    handler = models.ForeignKey(
        Person, verbose_name=_("handler"), on_delete=models.PROTECT, related_name="+"
    )
    consent = models.ForeignKey(
        Consent, verbose_name=_("consent"), on_delete=models.PROTECT, related_name="+"
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("line end user")
        verbose_name_plural = _("line end users")
        ordering = ["line", "-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["line"],
                condition=Q(ended_at__isnull=True),
                name="line_one_current_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line} user from {self.started_at:%Y-%m-%d}"
