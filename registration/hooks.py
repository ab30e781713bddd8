"""What registration tells the apps above it, without importing them.

Registration sits below re-verification (``reverification`` → ``registration``
→ ``identity`` → ``operators``): where registration's work needs an answer or
an action from above, the app above registers a function here in its
``AppConfig.ready()`` (as ``identity.services.reveal_grant_register`` does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_person_references: list[Callable[[int], bool]] = []
_line_open_request: Callable[[Any], Any] | None = None


def person_reference_register(check: Callable[[int], bool]) -> None:
    """A check that tells whether an app above still refers to a person (who
    must then not be shredded when a transaction ends unverified)."""
    if check not in _person_references:
        _person_references.append(check)


def person_referenced(person_id: int) -> bool:
    return any(check(person_id) for check in _person_references)


def line_open_request_register(finder: Callable[[Any], Any]) -> None:
    """The function that finds a line's open re-verification request (shown
    on the store's line look-up)."""
    global _line_open_request  # noqa: PLW0603 - a registry set once at start-up
    _line_open_request = finder


def line_open_request(line: Any) -> Any:
    return _line_open_request(line) if _line_open_request is not None else None


_line_closed: list[Callable[[Any, Any, Any], None]] = []


def line_closed_register(action: Callable[[Any, Any, Any], None]) -> None:
    """An action an app above takes when a line closes, inside the closing's
    own database transaction: ``action(line, now, actor)`` (re-verification
    cancels the line's open requests and its disputes' pending actions)."""
    if action not in _line_closed:
        _line_closed.append(action)


def line_closed(line: Any, now: Any, actor: Any) -> None:
    for action in _line_closed:
        action(line, now, actor)


_line_opened: list[Callable[[int], None]] = []


def line_opened_register(action: Callable[[int], None]) -> None:
    """An action an app above takes after a line opened, once the opening has
    committed: ``action(line_id)`` (re-verification's velocity rules). It runs
    outside the opening's transaction, so it can neither slow nor undo it."""
    if action not in _line_opened:
        _line_opened.append(action)


def line_opened(line_id: int) -> None:
    for action in _line_opened:
        action(line_id)
