"""Settings that may come from a file: ``NAME_FILE=/path`` beside ``NAME=value``.

The Docker and Kubernetes convention for mounted secrets: the orchestrator mounts
each secret as a file (``/run/secrets/…``) and the environment names the file, so
keys never sit in the process environment, in ``docker inspect`` or in a
Deployment's spec. The file is read once, at start.

Fails closed, naming the variable and never the content: both ``NAME`` and
``NAME_FILE`` set, a file that cannot be read, that is empty (after trimming the
trailing newline that ``kubectl create secret --from-file`` and editors leave), that
is not UTF-8 text, that holds a NUL byte or that is larger than any key setting can
be, all raise ImproperlyConfigured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

# A whole key ring of dozens of keys fits in a few kilobytes; a larger file is a
# wrong path (a log, a device), not a key setting.
MAX_SECRET_FILE_BYTES = 64 * 1024

# The settings read through :func:`secret_setting` (docs/security.md lists them).
FILE_SETTINGS = (
    "SECRET_KEY",
    "TELEREG_KEYS",
    "TELEREG_ACTIVE_KEY",
    "TELEREG_INDEX_KEY",
    "TELEREG_AUDIT_KEYS",
    "TELEREG_AUDIT_ACTIVE_KEY",
    "TELEREG_AUDIT_SIGNING_KEY",
    "TELEREG_AUDIT_VERIFY_KEYS",
    "TELEREG_AUTHORITY_PASSWORD",
    "TELEREG_SMS_API_KEY",
)


def secret_setting(
    name: str, default: str = "", *, environ: Mapping[str, str] | None = None
) -> str:
    """``NAME`` from the environment, or the content of the file ``NAME_FILE`` names,
    or ``default`` when neither is set (an empty variable counts as unset)."""
    environ = os.environ if environ is None else environ
    file_var = f"{name}_FILE"
    value = environ.get(name, "")
    path = environ.get(file_var, "")
    if value and path:
        raise ImproperlyConfigured(f"Both {name} and {file_var} are set: set only one of them.")
    if not path:
        return value or default
    return _read_secret_file(file_var, path)


def _read_secret_file(file_var: str, path: str) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        # strerror only: the exception's own text is harmless, but keep to one shape.
        reason = exc.strerror or type(exc).__name__
        raise ImproperlyConfigured(f"{file_var}: cannot read {path!r} ({reason}).") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise ImproperlyConfigured(
            f"{file_var}: {path!r} is larger than {MAX_SECRET_FILE_BYTES} bytes; "
            "it is not a key setting."
        )
    if b"\x00" in raw:
        raise ImproperlyConfigured(f"{file_var}: {path!r} holds a NUL byte; it is not text.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ImproperlyConfigured(f"{file_var}: {path!r} is not UTF-8 text.") from None
    text = text.strip()
    if not text:
        raise ImproperlyConfigured(f"{file_var}: {path!r} is empty.")
    return text
