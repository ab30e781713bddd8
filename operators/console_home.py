"""The console home: what needs someone, as counts that link to their lists.

The console shell (this app) knows nothing of corrections, disputes or
campaigns: the apps above it register what they count here, in their
``AppConfig.ready()`` (the same direction as ``registration/hooks.py``). Each
:class:`HomeCount` names the permission that may see it, a function that
answers one aggregate query for a user (already scoped by
:mod:`operators.tenancy`), and the changelist (with its filter) it links to.
A :class:`HomePanel` is a small table (campaigns running) rendered by its
own template. The page and its JSON twin (``home/counts.json``, polled by
``static/js/console.js``) are built from the same :func:`home_for`, so what
the script shows is what the page would show."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.http import urlencode

from .tenancy import can

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from .tenancy import AnyUser


@dataclass(frozen=True)
class HomeCount:
    """One count on the home page. ``count`` runs one aggregate query for the
    user and may see only what :func:`operators.tenancy.scoped` lets them;
    ``note`` (optional) is a short text under the count, in the reader's
    language, never personal data."""

    key: str
    label: str | Promise
    permission: str
    count: Callable[[AnyUser], int]
    changelist: str
    query: Mapping[str, str] = field(default_factory=dict)
    order: int = 100
    note: Callable[[AnyUser], str] | None = None


@dataclass(frozen=True)
class HomePanel:
    """A table on the home page. ``rows`` answers one aggregate query (a list
    of plain dicts, JSON-ready, no personal data); ``template`` renders them."""

    key: str
    title: str | Promise
    permission: str
    rows: Callable[[AnyUser], list[dict[str, Any]]]
    template: str
    changelist: str
    query: Mapping[str, str] = field(default_factory=dict)
    order: int = 100


_counts: dict[str, HomeCount] = {}
_panels: dict[str, HomePanel] = {}


def count_register(item: HomeCount) -> HomeCount:
    """Add (or replace, by key: a reload registers again) a count."""
    _counts[item.key] = item
    return item


def panel_register(panel: HomePanel) -> HomePanel:
    _panels[panel.key] = panel
    return panel


def _link(changelist: str, query: Mapping[str, str]) -> str:
    url = reverse(changelist)
    return f"{url}?{urlencode(dict(query))}" if query else url


@dataclass(frozen=True)
class ShownCount:
    key: str
    label: str | Promise
    value: int
    url: str
    note: str


@dataclass(frozen=True)
class ShownPanel:
    key: str
    title: str | Promise
    rows: list[dict[str, Any]]
    template: str
    url: str


@dataclass(frozen=True)
class Home:
    """What one staff member's home shows: the counts and panels their role
    may see, each for their operator only."""

    counts: list[ShownCount]
    panels: list[ShownPanel]

    def as_json(self) -> dict[str, Any]:
        """The JSON the page's script polls: counts and notes by key, panels'
        rows by key. Labels stay on the page (already in its language)."""
        return {
            "counts": {c.key: c.value for c in self.counts},
            "notes": {c.key: c.note for c in self.counts},
            "panels": {p.key: p.rows for p in self.panels},
        }


def home_for(user: AnyUser) -> Home:
    """The home of ``user``: only the counts and panels whose permission they
    hold (nothing at all for someone without any)."""
    counts = [
        ShownCount(
            key=item.key,
            label=item.label,
            value=item.count(user),
            url=_link(item.changelist, item.query),
            note=item.note(user) if item.note else "",
        )
        for item in sorted(_counts.values(), key=lambda i: (i.order, i.key))
        if can(user, item.permission)
    ]
    panels = [
        ShownPanel(
            key=panel.key,
            title=panel.title,
            rows=panel.rows(user),
            template=panel.template,
            url=_link(panel.changelist, panel.query),
        )
        for panel in sorted(_panels.values(), key=lambda p: (p.order, p.key))
        if can(user, panel.permission)
    ]
    return Home(counts=counts, panels=panels)
