"""What operators tells the apps above it, without importing them: an app
above registers its action in its ``AppConfig.ready()`` (re-verification
opens a campaign on a blacklisted store's recent lines)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_store_blacklisted: list[Callable[[Any, Any, Any], Any]] = []


def store_blacklisted_register(action: Callable[[Any, Any, Any], Any]) -> None:
    """``action(store, actor, now)``, run inside the blacklisting's transaction."""
    if action not in _store_blacklisted:
        _store_blacklisted.append(action)


def store_blacklisted(store: Any, actor: Any, now: Any) -> None:
    for action in _store_blacklisted:
        action(store, actor, now)
