"""The console's campaign form as a browser posts it (typed fields, not JSON)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone


def campaign_form_data(**overrides: Any) -> dict[str, Any]:
    """A valid POST of the campaign form: mobile lines of any holder, reminders
    14, 7, 2 days before a deadline 40 days away, the outbox file first."""
    data: dict[str, Any] = {
        "name": "Console",
        "deadline": (timezone.localdate() + dt.timedelta(days=40)).isoformat(),
        "line_kinds": ["mobile"],
        "holder_verification": "any",
        "older_than_days": "",
        "registered_before": "",
        "reminder_days": "14, 7, 2",
        "channels_0": "file",
        "channels_1": "",
        "channels_2": "",
        "notice_text_zh": "",
        "notice_text_en": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
