from django.apps import AppConfig


class ReverificationConfig(AppConfig):
    name = "reverification"
    label = "reverification"
    verbose_name = "Re-verification"

    def ready(self) -> None:
        # Registration tells re-verification what it must know through its
        # hooks (registration never imports this app).
        from registration import hooks

        from . import closing, selectors, tasks  # noqa: F401 - tasks: published by name

        hooks.person_reference_register(selectors.person_has_requests)
        hooks.line_open_request_register(selectors.line_open_request)
        hooks.line_closed_register(closing.line_closed)
