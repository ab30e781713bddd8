from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = "Operators, stores and staff"

    def ready(self) -> None:
        # Token revocation on password change and deactivation (receivers), and
        # the console's page for second-factor devices.
        from . import otp_admin, tokens  # noqa: F401
