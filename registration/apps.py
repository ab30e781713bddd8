from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = "Registration"

    def ready(self) -> None:
        # Imports the services at start-up, so that their errors show then.
        # The tasks too: services publish them by name.
        from . import services, tasks  # noqa: F401
