"""Carriers, their stores and their staff.

Every row that belongs to a carrier names its tenancy path in
``TENANT_OPERATOR_PATH`` (and, where store staff see only their own store,
``TENANT_STORE_PATH``); :mod:`operators.tenancy` reads them, so every surface
scopes the same way.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .roles import PRIVILEGED, Role
from .timezones import DEFAULT_TIME_ZONE, TIME_ZONE_MAX_LENGTH, validate_time_zone

region_code_validator = RegexValidator(
    r"^\d{6}$", _("An administrative region code has six digits (e.g. 110105).")
)
# A brand colour is written into a style sheet (reverification's /brand/<code>.css):
# exactly "#rrggbb", nothing that could close a rule or open another.
brand_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}\Z", _("A colour as #rrggbb, e.g. #0b5cad.")
)


class Language(models.TextChoices):
    """The languages staff pages and the console speak (settings.LANGUAGES);
    each label is the language's own name, so anyone can find theirs."""

    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


def default_language() -> str:
    """A new operator's staff language: the site's LANGUAGE_CODE (zh-hans in
    base settings) when it is one of :class:`Language`, else Simplified Chinese."""
    code = settings.LANGUAGE_CODE.lower()
    return code if code in Language.values else Language.ZH_HANS


def default_reminder_days() -> list[int]:
    return [14, 7, 2]


class Operator(models.Model):
    TENANT_OPERATOR_PATH = "pk"

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(
        _("country"),
        max_length=2,
        default="CN",
        help_text=_("ISO 3166-1 alpha-2 country of its numbers."),
    )
    mobile_line_cap = models.PositiveSmallIntegerField(
        _("mobile line cap"),
        default=5,
        help_text=_("Mobile lines one identity document may hold at this operator."),
    )
    landline_line_cap = models.PositiveSmallIntegerField(
        _("landline line cap"),
        default=5,
        help_text=_("Landlines one identity document may hold at this operator."),
    )
    min_holder_age = models.PositiveSmallIntegerField(
        _("min holder age"),
        default=16,
        help_text=_("Minimum age for holding a line in one's own name."),
    )
    reverification_response_days = models.PositiveSmallIntegerField(
        _("reverification response days"),
        default=30,
        help_text=_("Default days a subscriber has to answer a re-verification."),
    )
    reverification_reminder_days = models.JSONField(
        _("reverification reminder days"),
        default=default_reminder_days,
        help_text=_("Default reminders, in days before the deadline, e.g. [14, 7, 2]."),
    )
    reverification_suspend_after_days = models.PositiveSmallIntegerField(
        _("reverification suspend after days"),
        default=15,
        help_text=_(
            "Days a line stays barred from outgoing service after its re-verification "
            "expired, before it is suspended."
        ),
    )
    default_language = models.CharField(
        _("staff language"),
        max_length=16,
        choices=Language.choices,
        default=default_language,
        help_text=_("The language of staff pages and the console for staff who chose none."),
    )
    display_name_zh = models.CharField(
        _("display name (Simplified Chinese)"),
        max_length=200,
        blank=True,
        help_text=_("The name subscribers read on Chinese pages; empty: the name."),
    )
    display_name_en = models.CharField(
        _("display name (English)"),
        max_length=200,
        blank=True,
        help_text=_("The name subscribers read on English pages; empty: the name."),
    )
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        blank=True,
        validators=[brand_colour_validator],
        help_text=_("The primary colour of the subscriber pages, as #rrggbb; empty: the default."),
    )
    review_days = models.PositiveSmallIntegerField(
        _("subscriber request review days"),
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_(
            "Days within which the operator answers a subscriber's report of a line that "
            "is not theirs, or their correction request (told to the subscriber)."
        ),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=TIME_ZONE_MAX_LENGTH,
        default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text=_("Times are shown to staff and subscribers in this zone (IANA name)."),
    )
    retention_days = models.PositiveIntegerField(
        _("retention days"),
        default=730,
        help_text=_("Days personal data is kept after the person's last line closed."),
    )
    quarantine_days = models.PositiveSmallIntegerField(
        _("quarantine days"),
        null=True,
        blank=True,
        help_text=_(
            "Days a closed line's number rests before it can be given again "
            "(empty: the system's default, TELEREG_QUARANTINE_DAYS)."
        ),
    )
    document_notice_days = models.PositiveSmallIntegerField(
        _("document expiry notice days"),
        default=30,
        validators=[MaxValueValidator(365)],
        help_text=_(
            "Days before a holder's document expires that the daily cycle asks them "
            "to re-verify with the renewed document."
        ),
    )
    # The portrait check at the counter (registration.portrait_check).
    portrait_policy = models.CharField(
        _("portrait policy"),
        max_length=16,
        choices=[("off", _("Off")), ("required", _("Required"))],
        default="off",
        help_text=_("Required: openings, transfers and SIM replacements take a live portrait."),
    )
    portrait_pass = models.FloatField(
        _("portrait pass score"),
        default=0.90,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("A score at least this high, with liveness passed, goes on at once."),
    )
    portrait_refuse = models.FloatField(
        _("portrait refuse score"),
        default=0.70,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("A score below this is refused; between the two goes to review."),
    )
    portrait_review_hours = models.PositiveSmallIntegerField(
        _("portrait review time limit (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(720)],
        help_text=_("A portrait review not decided in time is rejected and its number released."),
    )
    portrait_retention_days = models.PositiveIntegerField(
        _("portrait retention days"),
        null=True,
        blank=True,
        help_text=_(
            "Days a portrait is kept after it was taken (empty: as long as the person's data)."
        ),
    )
    disclosure_notice_delay_days = models.PositiveSmallIntegerField(
        _("disclosure notice delay (days)"),
        default=0,
        validators=[MaxValueValidator(3650)],
        help_text=_(
            "Days after a release to an authority before the subscriber sees it in their "
            "access history (0: at once). While a legal hold is on one of their lines, it "
            "stays hidden."
        ),
    )
    # Issue 15: lines one organisation (one unified social credit code) may
    # hold at this operator; a compliance officer may raise it for one.
    organisation_line_cap = models.PositiveSmallIntegerField(
        _("organisation line cap"),
        default=50,
        validators=[MinValueValidator(1)],
        help_text=_("Lines one organisation may hold at this operator (raised per organisation)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mobile_line_cap__gte=1) & Q(landline_line_cap__gte=1),
                name="operator_caps_positive",
            ),
            models.CheckConstraint(
                condition=Q(brand_colour="") | Q(brand_colour__regex=r"^#[0-9a-fA-F]{6}$"),
                name="operator_brand_colour_rrggbb",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def display_name(self, language: str) -> str:
        """The name subscribers read in ``language`` (the brand, not the
        product): the operator's name in that language, else its name."""
        by_language = {"zh-hans": self.display_name_zh, "en": self.display_name_en}
        return by_language.get(language, "") or self.name

    def clean(self) -> None:
        days = self.reverification_reminder_days
        if not isinstance(days, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days
        ):
            raise ValidationError(
                {
                    "reverification_reminder_days": _(
                        "A list of positive whole days, e.g. [14, 7, 2]."
                    )
                }
            )
        if (
            self.portrait_pass is not None
            and self.portrait_refuse is not None
            and self.portrait_refuse > self.portrait_pass
        ):
            raise ValidationError(
                {"portrait_refuse": _("The refuse score cannot be above the pass score.")}
            )
        if any(d >= self.reverification_response_days for d in days):
            raise ValidationError(
                {"reverification_reminder_days": _("Each reminder must fall before the deadline.")}
            )


class StoreStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    BLACKLISTED = "blacklisted", _("Blacklisted")


class Store(models.Model):
    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="stores"
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=200)
    region_code = models.CharField(
        _("region code"), max_length=6, validators=[region_code_validator]
    )
    address = models.CharField(
        _("address"), max_length=300, help_text=_("The store's own business address.")
    )
    active = models.BooleanField(_("active"), default=True)
    # Suspended or blacklisted by a compliance officer (operators.services
    # store_status_set): its staff can no longer sign in or work.
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=StoreStatus.choices,
        default=StoreStatus.ACTIVE,
        db_default=StoreStatus.ACTIVE,
    )
    status_reason = models.CharField(
        _("status reason"), max_length=300, blank=True, default="", db_default=""
    )
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("status changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["operator__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "code"], name="store_code_unique_per_operator"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StaffMember(models.Model):
    TENANT_OPERATOR_PATH = "operator"
    TENANT_STORE_PATH = "store"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff",
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="staff"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text=_("Empty for head-office staff."),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)
    language = models.CharField(
        _("language"),
        max_length=16,
        choices=Language.choices,
        blank=True,
        help_text=_("Empty: the operator's staff language."),
    )
    confidentiality_accepted_at = models.DateTimeField(
        _("confidentiality accepted at"), null=True, blank=True, editable=False
    )
    confidentiality_version = models.CharField(
        _("confidentiality version"), max_length=32, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["operator__code", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(role__in=[Role.CLERK, Role.STORE_MANAGER]) | Q(store__isnull=False),
                name="staff_store_roles_have_a_store",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    @property
    def effective_language(self) -> str:
        """The language this staff member's pages are shown in."""
        return self.language or self.operator.default_language

    def clean(self) -> None:
        if self.store_id and self.operator_id and self.store.operator_id != self.operator_id:
            raise ValidationError({"store": _("The store belongs to another operator.")})
        if self.role in (Role.CLERK, Role.STORE_MANAGER) and not self.store_id:
            raise ValidationError({"store": _("Clerks and store managers work in a store.")})


class RoleGrantState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class RoleGrant(models.Model):
    """A request to give a staff member a privileged role (compliance officer,
    operator admin), decided by a second person. Only
    :func:`operators.services.role_grant_decide` applies it; every step is in
    the access log. ``activates`` marks a request that also makes an inactive
    (new or deactivated) staff member active again."""

    TENANT_OPERATOR_PATH = "operator"

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="role_grants"
    )
    staff = models.ForeignKey(
        StaffMember, verbose_name=_("staff"), on_delete=models.PROTECT, related_name="role_grants"
    )
    role_from = models.CharField(_("role before"), max_length=32, choices=Role.choices)
    role_to = models.CharField(_("role granted"), max_length=32, choices=Role.choices)
    activates = models.BooleanField(_("also activates"), default=False)
    state = models.CharField(
        _("state"), max_length=16, choices=RoleGrantState.choices, default=RoleGrantState.PENDING
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff"],
                condition=Q(state="pending"),
                name="role_grant_one_pending_per_staff",
            ),
            models.CheckConstraint(
                condition=Q(role_to__in=sorted(PRIVILEGED)),
                name="role_grant_only_privileged_roles",
            ),
            # The four-eyes rule, held by the database too.
            models.CheckConstraint(
                condition=~Q(decided_by=F("requested_by")),
                name="role_grant_decider_is_not_requester",
            ),
            models.CheckConstraint(
                condition=(Q(state="pending") & Q(decided_at__isnull=True))
                | (~Q(state="pending") & Q(decided_at__isnull=False)),
                name="role_grant_decided_when_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Role grant #{self.pk} ({self.role_to}, {self.state})"


class ConfidentialityUndertaking(models.Model):
    """The text staff accept before any access to personal data. A new version
    makes everyone accept again; published versions are never edited."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("confidentiality undertaking")
        verbose_name_plural = _("confidentiality undertakings")
        ordering = ["-published_at"]
        get_latest_by = "published_at"

    def __str__(self) -> str:
        return f"Confidentiality undertaking {self.version}"


class UndertakingAcceptance(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="undertakings",
    )
    undertaking = models.ForeignKey(
        ConfidentialityUndertaking, verbose_name=_("undertaking"), on_delete=models.PROTECT
    )
    accepted_at = models.DateTimeField(_("accepted at"))

    class Meta:
        verbose_name = _("undertaking acceptance")
        verbose_name_plural = _("undertaking acceptances")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "undertaking"], name="undertaking_accepted_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.undertaking.version}"


class WorkerHeartbeat(models.Model):
    """Last time a Celery worker ran the periodic heartbeat (shown by /readyz)."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} seen {self.seen_at:%Y-%m-%d %H:%M}"


class PartnerKind(models.TextChoices):
    FRAUD_CHECKS = "fraud_checks", _("Fraud checks (CAMARA)")
    RISK_FEED = "risk_feed", _("Risk feed (anti-fraud centre)")


class Partner(models.Model):
    """A partner of one operator (a bank, an app) that asks the CAMARA fraud
    checks (``/api/camara/``) about the operator's numbers. It is an API
    client, not staff: its account has no staff profile, so every staff
    surface refuses it (``not_staff``), and the partner gate
    (``registration.partner_api``) lets it reach only the CAMARA endpoints.
    Its ``name`` is what its calls are logged under."""

    TENANT_OPERATOR_PATH = "operator"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="partner",
    )
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="partners"
    )
    name = models.CharField(_("name"), max_length=80)
    # What the partner may call: the CAMARA fraud checks, or (an anti-fraud
    # centre) only POST /api/v1/risk-flags/.
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=PartnerKind.choices,
        default=PartnerKind.FRAUD_CHECKS,
        db_default=PartnerKind.FRAUD_CHECKS,
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["operator__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["operator", "name"], name="partner_name_per_operator"),
        ]

    def __str__(self) -> str:
        return self.name
