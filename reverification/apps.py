from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReverificationConfig(AppConfig):
    name = "reverification"
    label = "reverification"
    verbose_name = _("Re-verification")

    def ready(self) -> None:
        # Registration tells re-verification what it must know through its
        # hooks (registration never imports this app).
        from operators import hooks as operator_hooks
        from registration import hooks

        # tasks: published by name; console_home: its counts on the console home;
        # closing: fills registration's line-closed hook.
        from . import campaigns, closing, console_home, selectors, tasks, velocity  # noqa: F401

        hooks.person_reference_register(selectors.person_has_requests)
        hooks.line_open_request_register(selectors.line_open_request)
        hooks.line_closed_register(closing.line_closed)
        hooks.line_opened_register(velocity.line_opened)
        operator_hooks.store_blacklisted_register(campaigns.store_blacklisted)
