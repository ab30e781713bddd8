from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Registration"

    def ready(self) -> None:
        # Imports the services at start-up, so that their errors show then.
        from . import services  # noqa: F401
