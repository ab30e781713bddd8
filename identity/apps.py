from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity and personal-information protection"

    def ready(self) -> None:
        # Role changes in operators are written to our access log; operators
        # cannot import identity (it sits beneath it), so we register here.
        from operators.audit import role_audit_register

        from .services import role_change_log

        role_audit_register(role_change_log)
