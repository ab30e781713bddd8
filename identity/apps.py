from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = gettext_lazy("Identity and personal-information protection")

    def ready(self) -> None:
        # checks and console_home (its counts on the console home) register on import.
        from . import checks, console_home, db_roles  # noqa: F401

        # Once per migrate (sender=self), after every app's tables exist.
        post_migrate.connect(
            db_roles.apply_after_migrate, sender=self, dispatch_uid="identity.db_roles"
        )

        # Role changes in operators are written to our access log; operators
        # cannot import identity (it sits beneath it), so we register here.
        from operators.audit import role_audit_register

        from .services import role_change_log

        role_audit_register(role_change_log)
