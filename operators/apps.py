from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = "Operators, stores and staff"

    def ready(self) -> None:
        # Token revocation on password change and deactivation (receivers), the
        # console's page for second-factor devices, and the per-address count of
        # failed sign-ins.
        from . import otp_admin, sign_in_limits, tokens  # noqa: F401
