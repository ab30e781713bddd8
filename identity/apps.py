from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity and personal-information protection"

    def ready(self) -> None:
        from . import checks, db_roles  # noqa: F401 - checks registers on import

        # Once per migrate (sender=self), after every app's tables exist.
        post_migrate.connect(
            db_roles.apply_after_migrate, sender=self, dispatch_uid="identity.db_roles"
        )
