from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Registration"

    def ready(self) -> None:
        # Registers the reveal grant for clerks handling an open transaction.
        from . import services  # noqa: F401
