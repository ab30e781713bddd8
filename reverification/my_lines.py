""" "Lines under my ID": a person sees every line of an operator registered to
their document, after proving they hold one of them (a one-time code sent to
it), and reports those that are not theirs. Until the code is entered the
answer is the same whether or not the document is known."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.api import DomainError
from identity import lookups
from identity import selectors as identity_selectors
from identity.models import AccessPurpose, Person
from notices import channels
from notices.messages import render_message
from operators.models import Operator
from registration.models import Line, LineStatus

from .models import (
    Campaign,
    CampaignState,
    Dispute,
    DisputeState,
    MyLinesChallenge,
    RequestState,
    ReverificationRequest,
)

CODE_TTL = dt.timedelta(minutes=10)
START_LIMIT_PER_HOUR = 10  # look-ups started per address and hour
MAX_CODE_ATTEMPTS = 5
DISPUTE_CAMPAIGN = "Disputed lines"


class CodeRefused(DomainError):
    code = "code_refused"
    message = _("The code is not right, or it has expired. Ask for a new one.")


def _code_hash(challenge: MyLinesChallenge, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"my-lines:{challenge.uid}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def _masked(number: str) -> str:
    return f"{number[:-8]}****{number[-4:]}"


def challenge_start(
    *,
    operator: Operator,
    id_type: str,
    id_number: str,
    name: str,
    address: str = "",
    per_address: int = START_LIMIT_PER_HOUR,
) -> MyLinesChallenge:
    """Always returns a challenge; a code goes to one of the person's lines only
    when the document is known here and the name matches.

    Counted per address and per document (identity.lookups; LookupLimitReached
    past either), whether the document is known or not, and written to the
    access log (the person, when the document is known) before answering."""
    doc_index = identity_selectors.document_index(id_type=id_type, id_number=id_number)
    lookups.public_lookup_allow(address=address, doc_index=doc_index, per_address=per_address)
    person = Person.objects.filter(
        operator=operator,
        id_type=id_type,
        doc_index=doc_index,
        shredded_at__isnull=True,
    ).first()
    name_matched = False
    if person is not None:
        name_matched = identity_selectors.person_name_matches(person=person, name=name)
    lookups.lookup_record(
        operator=operator,
        actor=None,
        actor_label="subscriber (lines under my ID)",
        purpose=AccessPurpose.CUSTOMER_REQUEST,
        surface="my_lines",
        kind="document",
        person=person,
        extra={"name_matched": name_matched},
    )
    if not name_matched:
        person = None
    line = None
    if person is not None:
        line = (
            Line.objects.filter(holder=person)
            .exclude(status=LineStatus.CLOSED)
            .order_by("kind", "registered_at")
            .first()
        )
    challenge = MyLinesChallenge.objects.create(
        operator=operator,
        person=person if line else None,
        expires_at=timezone.now() + CODE_TTL,
    )
    if line is not None:
        code = f"{secrets.randbelow(10**6):06d}"
        MyLinesChallenge.objects.filter(pk=challenge.pk).update(
            code_hash=_code_hash(challenge, code)
        )
        channel = channels.get_channel(settings.TELEREG_CODE_CHANNEL)
        channel.send_many(
            [
                channels.Message(
                    delivery=0,
                    channel=channel.name,
                    to=line.number,
                    campaign=None,
                    request=None,
                    kind="code",
                    language=identity_selectors.person_language(person),
                    text=render_message(
                        kind="code",
                        language=identity_selectors.person_language(person),
                        context={"operator": operator.name, "code": code},
                    ),
                    link="",
                )
            ]
        )
    return challenge


def challenge_verify(*, challenge: MyLinesChallenge, code: str) -> list[Line]:
    """The person's open lines once the right code is entered (5 tries, 10 min)."""
    with transaction.atomic():
        challenge = MyLinesChallenge.objects.select_for_update().get(pk=challenge.pk)
        usable = (
            challenge.code_hash
            and challenge.expires_at > timezone.now()
            and challenge.failed_attempts < MAX_CODE_ATTEMPTS
        )
        right = usable and hmac.compare_digest(
            challenge.code_hash, _code_hash(challenge, code.strip())
        )
        if not right:
            challenge.failed_attempts += 1
            challenge.save(update_fields=["failed_attempts"])
        elif challenge.verified_at is None:
            challenge.verified_at = timezone.now()
            challenge.save(update_fields=["verified_at"])
    if not right:  # raised outside the block, so the counted attempt stays
        raise CodeRefused()
    return challenge_lines(challenge=challenge)


def challenge_lines(*, challenge: MyLinesChallenge) -> list[Line]:
    if challenge.verified_at is None or challenge.person_id is None:
        return []
    return list(
        Line.objects.filter(holder_id=challenge.person_id).exclude(status=LineStatus.CLOSED)
    )


def masked_lines(lines: list[Line]) -> list[dict[str, object]]:
    return [
        {
            "uid": str(line.uid),
            "number": _masked(line.number),
            "kind": line.kind,
            "status": line.status,
            "since": timezone.localtime(line.registered_at).date(),
        }
        for line in lines
    ]


def dispute_report(*, challenge: MyLinesChallenge, line_uid: str) -> Dispute:
    """Report a line as not mine (once per line while open)."""
    line = next((x for x in challenge_lines(challenge=challenge) if str(x.uid) == line_uid), None)
    if line is None:
        raise CodeRefused(_("Enter the code first."))
    try:
        with transaction.atomic():
            return Dispute.objects.create(
                operator=line.operator, line=line, person_id=challenge.person_id
            )
    except IntegrityError:
        return Dispute.objects.get(
            line=line, person_id=challenge.person_id, state=DisputeState.OPEN
        )


@transaction.atomic
def dispute_resolve(*, dispute: Dispute, suspend: bool, actor, note: str = "") -> Dispute:
    """Dismiss, or suspend the line and open a re-verification of its holder."""
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.state != DisputeState.OPEN:
        return dispute
    now = timezone.now()
    if suspend:
        Line.objects.filter(pk=dispute.line_id).exclude(status=LineStatus.CLOSED).update(
            status=LineStatus.SUSPENDED, status_reason="disputed", status_changed_at=now
        )
        campaign, _ = Campaign.objects.get_or_create(
            operator=dispute.operator,
            name=DISPUTE_CAMPAIGN,
            state=CampaignState.RUNNING,
            defaults={
                "criteria": {},
                "deadline": timezone.localdate() + dt.timedelta(days=30),
                "channels": ["file"],
                "created_by": actor,
                "launched_at": now,
            },
        )
        line = Line.objects.get(pk=dispute.line_id)
        ReverificationRequest.objects.get_or_create(
            campaign=campaign,
            line=line,
            defaults={
                "person_id": line.holder_id,
                "operator": dispute.operator,
                "state": RequestState.PENDING,
                "deadline": campaign.deadline,
                "created_at": now,
            },
        )
    dispute.state = DisputeState.SUSPENDED if suspend else DisputeState.DISMISSED
    dispute.resolved_by = actor
    dispute.resolved_at = now
    dispute.note = note[:300]
    dispute.save()
    return dispute
