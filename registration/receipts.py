"""The receipt's proof of origin: a signed token naming one transaction, the
public URL where anyone holding the paper can check it is genuine, and the QR
code that carries both the reference and that URL.

The token is Django's signing with a salt of its own (a token made for any
other purpose never passes here) over the transaction's uid alone: nothing
about a person is in the URL. The reference travels beside it in the path so
that a person reading the URL sees which receipt it is; the check refuses a
reference that is not the signed transaction's."""

from __future__ import annotations

import uuid

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from .models import Transaction

RECEIPT_CHECK_SALT = "telereg.registration.receipt-check"
TOKEN_MAX_LENGTH = 120  # a uid and a signature; anything longer is not ours
REFERENCE_MAX_LENGTH = Transaction._meta.get_field("reference").max_length


def _signer() -> signing.Signer:
    return signing.Signer(salt=RECEIPT_CHECK_SALT)


def receipt_token(tx: Transaction) -> str:
    """The signed token of a transaction's receipt (its uid, signed)."""
    return _signer().sign(tx.uid.hex)


def receipt_uid(token: str) -> uuid.UUID | None:
    """The transaction uid a token was signed for, or None for a token that is
    forged, tampered with, malformed or too long (never an exception)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        return uuid.UUID(hex=_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def receipt_check_url(tx: Transaction) -> str:
    """The absolute URL where the receipt is checked (the public address of the
    site, TELEREG_PUBLIC_URL, never the request's Host header)."""
    path = reverse("receipt-check", kwargs={"reference": tx.reference, "token": receipt_token(tx)})
    return settings.TELEREG_PUBLIC_URL.rstrip("/") + path


def receipt_qr_svg(tx: Transaction) -> SafeString:
    """The QR code of the receipt check URL as inline SVG markup: drawn with
    attributes only (no style, no script), so the strict Content-Security-Policy
    holds, and printed with the page."""
    code = segno.make(receipt_check_url(tx), error="m")
    svg = code.svg_inline(
        scale=3, border=2, svgclass="qr", lineclass=None, title=gettext("Receipt check code")
    )
    # segno builds the markup from the code's modules and our fixed title: no
    # text of the request or of a person goes into it.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308
