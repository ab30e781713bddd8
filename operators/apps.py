from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = gettext_lazy("Operators, stores and staff")

    def ready(self) -> None:
        # Token revocation on password change and deactivation (receivers), the
        # console's page for second-factor devices, and the per-address count of
        # failed sign-ins.
        from . import otp_admin, sign_in_limits, tokens  # noqa: F401
