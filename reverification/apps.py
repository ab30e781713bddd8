from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReverificationConfig(AppConfig):
    name = "reverification"
    label = "reverification"
    verbose_name = _("Re-verification")

    def ready(self) -> None:
        # Registration tells re-verification what it must know through its
        # hooks (registration never imports this app).
        from registration import hooks

        # tasks: published by name; console_home: its counts on the console home;
        # closing: fills registration's line-closed hook.
        from . import closing, console_home, selectors, tasks  # noqa: F401

        hooks.person_reference_register(selectors.person_has_requests)
        hooks.line_open_request_register(selectors.line_open_request)
        hooks.line_closed_register(closing.line_closed)
