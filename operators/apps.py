from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = "Operators, stores and staff"

    def ready(self) -> None:
        # Connects the per-address count of failed sign-ins.
        from . import sign_in_limits  # noqa: F401
