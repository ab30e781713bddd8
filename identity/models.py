"""What the system knows about a person, and the records that prove how it was
collected and who read it.

Personal fields are stored only as AES-256-GCM ciphertexts under the person's
own data key (envelope encryption, :mod:`identity.crypto`); exact look-ups go
through a keyed blind index. Nothing in these tables holds a name, a document
number, a birth date or an address in clear.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from operators.models import Operator, Store

# Fields of the identity block kept encrypted on a Person, in a fixed order.
ENCRYPTED_FIELDS = (
    "name",
    "id_number",
    "date_of_birth",
    "sex",
    "id_expiry",
    "nationality",
    "address",
)


class VerificationStatus(models.TextChoices):
    NEVER = "never", _("Never verified")
    VERIFIED = "verified", _("Verified")
    FAILED = "failed", _("Verification failed")


class NoticeLanguage(models.TextChoices):
    ZH = "zh-hans", "简体中文"
    EN = "en", "English"


class Person(models.Model):
    TENANT_OPERATOR_PATH = "operator"

    # Public, unguessable handle (API URLs) and the associated data that binds
    # every ciphertext of this person to this row.
    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="persons"
    )
    id_type = models.CharField(_("id type"), max_length=40)
    # HMAC-SHA256 (or HMAC-SM3) of (id_type, normalised number) under the index key.
    doc_index = models.CharField(_("document index"), max_length=64)
    # Which index key and algorithm computed doc_index (crypto.KeyRing.index_key_id, a
    # fingerprint, no key): rows under another one are what reindex_documents redoes.
    index_key_id = models.CharField(
        _("index key id"), max_length=40, blank=True, default="", db_default="", editable=False
    )
    # The person's data key, wrapped by the key ring; None once crypto-shredded.
    wrapped_key = models.BinaryField(_("wrapped key"), null=True, editable=False)
    key_id = models.CharField(_("key id"), max_length=64, blank=True, db_index=True, editable=False)
    name_enc = models.BinaryField(_("name enc"), editable=False)
    id_number_enc = models.BinaryField(_("id number enc"), editable=False)
    date_of_birth_enc = models.BinaryField(_("date of birth enc"), editable=False)
    sex_enc = models.BinaryField(_("sex enc"), editable=False)
    id_expiry_enc = models.BinaryField(_("id expiry enc"), null=True, editable=False)
    nationality_enc = models.BinaryField(_("nationality enc"), null=True, editable=False)
    address_enc = models.BinaryField(_("address enc"), null=True, editable=False)
    # The day the document expires, kept beside its ciphertext by the vault
    # (identity.vault._seal) so that the daily cycle can find documents about
    # to expire set-wise, without opening every person; erased when shredded.
    id_expires_on = models.DateField(_("document expires on"), null=True, blank=True)
    verification_status = models.CharField(
        _("verification status"),
        max_length=16,
        choices=VerificationStatus.choices,
        default=VerificationStatus.NEVER,
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    # The language notices to this person are written in (chosen at
    # registration, changed in store): a preference, not identity data.
    language = models.CharField(
        _("language"), max_length=8, choices=NoticeLanguage.choices, default="zh-hans"
    )
    # Maintained by the registration app; retention reads them.
    lines_held = models.PositiveIntegerField(_("lines held"), default=0)
    last_line_closed_at = models.DateTimeField(_("last line closed at"), null=True, blank=True)
    # Set by registration while a line of this person is under a legal hold:
    # retention passes them by and nothing shreds them until it is lifted.
    retention_held = models.BooleanField(_("retention held"), default=False)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    shredded_at = models.DateTimeField(_("shredded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "doc_index"], name="person_one_per_operator_document"
            ),
        ]
        indexes = [
            models.Index(fields=["operator", "last_line_closed_at"]),
            models.Index(fields=["operator", "id_expires_on"]),
        ]

    def __str__(self) -> str:
        return f"Person #{self.pk}"

    @property
    def subject(self) -> str:
        """The associated-data label binding ciphertexts to this row."""
        return f"person:{self.uid}"

    @property
    def is_shredded(self) -> bool:
        return self.shredded_at is not None


class PersonVersion(models.Model):
    """A previous state of a person's encrypted fields, kept on each change.
    Encrypted under the same data key, so shredding the person erases it too."""

    TENANT_OPERATOR_PATH = "person__operator"

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    changed_fields = models.JSONField(_("changed fields"), default=list)
    previous = models.JSONField(
        _("previous"), default=dict, help_text=_("Field → base64 ciphertext before.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("person version")
        verbose_name_plural = _("person versions")
        ordering = ["person", "version"]
        constraints = [
            models.UniqueConstraint(fields=["person", "version"], name="person_version_unique"),
        ]

    def __str__(self) -> str:
        return f"Person #{self.person_id} v{self.version}"


NOTICE_PARTS = (
    "purpose",
    "manner",
    "scope",
    "retention",
    "query_and_correction",
    "consequences_of_refusal",
)


class PrivacyNotice(models.Model):
    """What the operator tells people before collecting their data. Published
    versions are immutable; the content hash identifies the exact text a
    person consented to."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="notices"
    )
    version = models.PositiveIntegerField(_("version"))
    language = models.CharField(_("language"), max_length=8, choices=NoticeLanguage.choices)
    purpose = models.TextField(_("purpose"), blank=True)
    manner = models.TextField(_("manner"), blank=True)
    scope = models.TextField(_("scope"), blank=True)
    retention = models.TextField(_("retention"), blank=True)
    query_and_correction = models.TextField(_("query and correction"), blank=True)
    consequences_of_refusal = models.TextField(_("consequences of refusal"), blank=True)
    content_hash = models.CharField(
        _("content hash"), max_length=64, blank=True, db_index=True, editable=False
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")
        ordering = ["operator", "language", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "language", "version"], name="notice_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(published_at__isnull=True) | ~Q(content_hash=""),
                name="published_notice_has_hash",
            ),
        ]

    def __str__(self) -> str:
        state = "published" if self.published_at else "draft"
        return f"{self.operator.code} notice v{self.version} ({self.language}, {state})"

    def save(self, *args, **kwargs) -> None:
        # A published notice is what people consented to: it never changes.
        if self.pk is not None and not kwargs.get("force_insert"):
            stored = type(self).objects.filter(pk=self.pk).values("published_at").first()
            if stored and stored["published_at"] is not None:
                raise PermissionError("A published privacy notice is immutable.")
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def compute_hash(self) -> str:
        payload = {
            "operator": self.operator.code,
            "version": self.version,
            "language": self.language,
            **{part: getattr(self, part) for part in NOTICE_PARTS},
        }
        canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(canonical).hexdigest()


class ConsentChannel(models.TextChoices):
    STORE = "store", _("In store")
    SELF_SERVICE = "self_service", _("Self-service")
    API = "api", _("API client")


class Consent(models.Model):
    """A person's answer to one notice version. A refusal is recorded without
    any person: nothing personal is kept for someone who said no."""

    TENANT_OPERATOR_PATH = "operator"
    TENANT_STORE_PATH = "store"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="consents"
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consents",
    )
    notice = models.ForeignKey(
        PrivacyNotice, verbose_name=_("notice"), on_delete=models.PROTECT, related_name="consents"
    )
    notice_hash = models.CharField(_("notice hash"), max_length=64)
    given = models.BooleanField(_("given"))
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(given=True) | Q(person__isnull=True),
                name="refused_consent_has_no_person",
            ),
        ]

    def __str__(self) -> str:
        return f"Consent #{self.pk} ({'given' if self.given else 'refused'})"


class CitizenRecord(models.Model):
    """The simulated authority's registry of synthetic citizens. Stored as keyed
    digests only: even test registries never sit in clear in the database."""

    doc_index = models.CharField(_("document index"), max_length=64, unique=True)
    name_digest = models.CharField(_("name digest"), max_length=64)
    birth_digest = models.CharField(_("birth digest"), max_length=64)
    revoked = models.BooleanField(_("revoked"), default=False)
    # The simulated authority gives no answer for this citizen (as if the
    # registry were unreachable), so the waiting flow can be tried on purpose.
    unavailable = models.BooleanField(_("answers unavailable"), default=False)
    # The reference portrait (registry CSV's ``portrait`` column), sealed under
    # a data key of its own that the key ring wraps, bound to this record.
    portrait_key = models.BinaryField(_("portrait key"), null=True, editable=False)
    portrait_enc = models.BinaryField(_("portrait enc"), null=True, editable=False)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("citizen record")
        verbose_name_plural = _("citizen records")

    def __str__(self) -> str:
        return f"Citizen record #{self.pk}"


class AccessPurpose(models.TextChoices):
    AUTHORITY_CHECK = "authority_check", _("Identity check with the authority")
    REGISTRATION = "registration", _("Registration in store")
    CUSTOMER_REQUEST = "customer_request", _("The subscriber's own request")
    COMPLIANCE_REVIEW = "compliance_review", _("Compliance review")
    SUBJECT_ACCESS = "subject_access", _("Subject access export")
    CORRECTION = "correction", _("Correction of personal data")
    LAW_ENFORCEMENT = "law_enforcement", _("Lawful request by an authority")
    RETENTION = "retention", _("Retention (erasure)")
    ROLE_CHANGE = "role_change", _("Staff role change (grant, decision, revocation)")
    EXPORT = "export", _("Export of a masked list (CSV)")
    MAINTENANCE = "maintenance", _("Data maintenance (a derived column filled from a stored field)")
    PORTRAIT_REVIEW = "portrait_review", _("Review of a portrait taken at the counter")


class AccessLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The access log is append-only.")

    def delete(self):
        raise PermissionError("The access log is append-only.")

    def bulk_update(self, *args, **kwargs):
        raise PermissionError("The access log is append-only.")


class AccessLogEntry(models.Model):
    """One read of unmasked personal data (or one identity check). Append-only
    (INSERT only; the application's database role may do nothing else here),
    chained with a keyed hash per operator and day so writers of different chains
    never wait on each other; ``verify_access_log`` walks every chain against the
    signed checkpoints. The head of a chain is its highest ``seq``."""

    TENANT_OPERATOR_PATH = "operator"

    chain = models.CharField(_("chain"), max_length=64)
    seq = models.PositiveBigIntegerField(_("seq"))
    prev_hash = models.CharField(_("prev hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)
    # The TELEREG_AUDIT_KEYS key id whose HMAC chained this entry.
    key_id = models.CharField(_("key id"), max_length=64, default="")
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=150)
    store = models.ForeignKey(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="access_log",
    )
    fields = models.JSONField(_("fields"), default=list)
    purpose = models.CharField(_("purpose"), max_length=32, choices=AccessPurpose.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("access log entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("access log entries")
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="access_log_chain_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["operator", "created_at"]),
            models.Index(fields=["person", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Access #{self.pk} {self.purpose} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not kwargs.get("force_insert", False):
            raise PermissionError("The access log is append-only: entries are only inserted.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The access log is append-only.")


class CorrectionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class CorrectionRequest(models.Model):
    """A subject's request to correct their data; compliance approves or refuses.
    The proposed values are encrypted under the person's data key."""

    TENANT_OPERATOR_PATH = "person__operator"

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="corrections"
    )
    proposed = models.JSONField(
        _("proposed"), default=dict, help_text=_("Field → base64 ciphertext proposed.")
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=CorrectionStatus.choices,
        default=CorrectionStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    # Why the subscriber asks (the clerk's words at the counter); the values
    # themselves are in ``proposed``, encrypted.
    request_note = models.CharField(_("request note"), max_length=300, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Correction #{self.pk} ({self.status})"


# --- Look-ups by document: limits and alerts (issue 10) ----------------------------------


class LookupBucket(models.Model):
    """The recent look-ups counted against one limit (a staff member, an
    address, a document), as epoch seconds: writers lock the row, so the
    count holds across web processes (the database is what they all share)."""

    key = models.CharField(_("key"), max_length=120, primary_key=True)
    hits = models.JSONField(_("hits"), default=list)
    refused_at = models.JSONField(_("refused at"), default=list)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("look-up bucket")
        verbose_name_plural = _("look-up buckets")

    def __str__(self) -> str:
        return self.key


class LookupAlert(models.Model):
    """A staff member looked up more documents than the hourly limit allows:
    compliance officers see it in the console and acknowledge it."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator,
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lookup_alerts",
        verbose_name=gettext_lazy("staff member"),
    )
    count = models.PositiveIntegerField(
        gettext_lazy("look-ups"),
        help_text=gettext_lazy("Look-ups tried in the window, refused ones included."),
    )
    window_start = models.DateTimeField(gettext_lazy("window start"))
    window_end = models.DateTimeField(gettext_lazy("window end"))
    created_at = models.DateTimeField(gettext_lazy("raised at"), auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=gettext_lazy("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(gettext_lazy("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = gettext_lazy("look-up alert")
        verbose_name_plural = gettext_lazy("look-up alerts")
        ordering = ["-window_end", "-id"]
        indexes = [models.Index(fields=["staff", "acknowledged_at", "window_end"])]

    def __str__(self) -> str:
        return f"Look-up alert #{self.pk}"


class AccessLogVerification(models.Model):
    """One run of ``verify_access_log``: when, what it walked and what it found,
    so the console home can say how the last check went. Holds no personal
    data: counts, the chains' operators and the checkpoint's file name.
    Platform-wide (one run walks every chain); tenants read it through
    :func:`identity.selectors.access_log_verification_last`, which tells them
    about their own operator's chains only."""

    ran_at = models.DateTimeField(_("ran at"), db_index=True)
    entries = models.PositiveBigIntegerField(_("entries walked"), default=0)
    chains = models.PositiveIntegerField(_("chains walked"), default=0)
    problems = models.PositiveIntegerField(_("problems found"), default=0)
    # Operators whose chains broke; a checkpoint file that fails its signature
    # breaks every operator's view (``checkpoints_broken``).
    broken_operator_ids = models.JSONField(_("operators with broken chains"), default=list)
    checkpoints_broken = models.BooleanField(_("checkpoint files broken"), default=False)
    checkpoint = models.CharField(_("checkpoint written"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("access log verification")
        verbose_name_plural = _("access log verifications")
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return f"Access log verification #{self.pk}"


class Portrait(models.Model):
    """A portrait taken at the counter (or the reason it could not be), for the
    person whose identity was registered. The image is sealed under the
    person's data key, bound to this row (``context``) and the field
    ``portrait``: shredding the person makes it unreadable, and the retention
    of portraits (``keep_until``) erases it sooner."""

    TENANT_OPERATOR_PATH = "person__operator"

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="portraits"
    )
    image_enc = models.BinaryField(_("image enc"), null=True, editable=False)
    # The reference the matcher compared it with, for the reviewer.
    reference_enc = models.BinaryField(_("reference enc"), null=True, editable=False)
    # A person who cannot be photographed: why (sealed too; it may speak of health).
    exception = models.BooleanField(_("capture exception"), default=False)
    reason_enc = models.BinaryField(_("reason enc"), null=True, editable=False)
    liveness = models.CharField(_("liveness"), max_length=16, blank=True)
    keep_until = models.DateTimeField(_("keep until"), null=True, blank=True)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("portrait")
        verbose_name_plural = _("portraits")
        indexes = [models.Index(fields=["keep_until"], name="portrait_keep_until")]

    def __str__(self) -> str:
        return f"Portrait #{self.pk}"

    @property
    def context(self) -> str:
        return f"portrait:{self.uid}"


# --- Organisations (issue 15) --------------------------------------------------------------

# Fields of an organisation kept encrypted under its own data key, in a fixed order.
ORGANISATION_FIELDS = ("name", "uscc", "address")


class OrganisationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Organisation(models.Model):
    """An organisation that holds lines at one operator (a company, a sole
    trader, an institution), found by its unified social credit code (GB
    32100) through a keyed blind index. Its name, code and registered address
    are encrypted like a person's: AES-256-GCM under the organisation's own
    data key, bound to this row and the field; a sole trader's name is a
    person's name, so nothing here is in clear, and retention crypto-shreds
    it like a person (:func:`identity.organisations.organisation_shred`)."""

    TENANT_OPERATOR_PATH = "operator"

    uid = models.UUIDField(_("uid"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="organisations"
    )
    # HMAC-SHA256 of the normalised code under the index key.
    uscc_index = models.CharField(_("credit code index"), max_length=80)
    wrapped_key = models.BinaryField(_("wrapped key"), null=True, editable=False)
    key_id = models.CharField(_("key id"), max_length=64, blank=True, editable=False)
    name_enc = models.BinaryField(_("name enc"), editable=False)
    uscc_enc = models.BinaryField(_("credit code enc"), editable=False)
    address_enc = models.BinaryField(_("address enc"), null=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=OrganisationStatus.choices,
        default=OrganisationStatus.ACTIVE,
    )
    # A cap raised for this organisation by a compliance officer (None: the
    # operator's organisation_line_cap); every change is an OrganisationCapChange.
    line_cap = models.PositiveSmallIntegerField(_("line cap"), null=True, blank=True)
    # Maintained by registration; retention reads them, as for a person.
    lines_held = models.PositiveIntegerField(_("lines held"), default=0)
    last_line_closed_at = models.DateTimeField(_("last line closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    shredded_at = models.DateTimeField(_("shredded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "uscc_index"], name="organisation_one_per_operator_code"
            ),
        ]

    def __str__(self) -> str:
        return f"Organisation #{self.pk}"

    @property
    def subject(self) -> str:
        """The associated-data label binding ciphertexts to this row."""
        return f"organisation:{self.uid}"

    @property
    def is_shredded(self) -> bool:
        return self.shredded_at is not None


class OrganisationAuthorization(models.Model):
    """The organisation's authorization of a handler (经办人): the person who
    acts for it at the counter, from when, under which reference, valid until
    when. One is current at a time; a new one ends the previous one, whose
    handler can no longer act for the organisation."""

    TENANT_OPERATOR_PATH = "organisation__operator"

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="authorizations",
    )
    handler = models.ForeignKey(
        Person, verbose_name=_("handler"), on_delete=models.PROTECT, related_name="+"
    )
    # The organisation's own reference of the letter (not personal data).
    reference = models.CharField(_("reference"), max_length=64)
    valid_until = models.DateField(_("valid until"))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("handler authorization")
        verbose_name_plural = _("handler authorizations")
        ordering = ["organisation", "-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(ended_at__isnull=True),
                name="organisation_one_current_handler",
            ),
        ]

    def __str__(self) -> str:
        return f"Authorization #{self.pk}"


class OrganisationCapChange(models.Model):
    """A compliance officer's change of one organisation's line cap, with why."""

    TENANT_OPERATOR_PATH = "organisation__operator"

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="cap_changes",
    )
    cap_before = models.PositiveSmallIntegerField(_("cap before"))
    cap_after = models.PositiveSmallIntegerField(_("cap after"))
    reason = models.CharField(_("reason"), max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("organisation cap change")
        verbose_name_plural = _("organisation cap changes")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Cap change #{self.pk}"
