from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    label = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        # A channel named in settings must exist: refused at start, not at
        # the first holder alert.
        from . import channels

        for setting in ("TELEREG_ALERT_CHANNEL", "TELEREG_CODE_CHANNEL"):
            if getattr(settings, setting) not in channels.names():
                raise ImproperlyConfigured(
                    f"{setting} must name a registered channel: {', '.join(channels.names())}"
                )
