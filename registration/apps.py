from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RegistrationConfig(AppConfig):
    name = "registration"
    verbose_name = gettext_lazy("Registration")

    def ready(self) -> None:
        # Imports the services at start-up, so that their errors show then.
        # The tasks too: services publish them by name; console_home registers
        # its count on the console home.
        from . import console_home, services, tasks  # noqa: F401
