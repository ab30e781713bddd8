"""Django's migrate, connected as the owner role (DATABASE_MIGRATE_URL).

Web and worker connect as the runtime role, which may not create or alter
tables nor rewrite the access log; only migrations need the owner. Unset,
DATABASE_MIGRATE_URL is DATABASE_URL and this is Django's migrate unchanged.
After migrating, identity's post_migrate receiver grants the runtime role
(identity/db_roles.py)."""

from __future__ import annotations

from django.core.management.commands import migrate

from identity.db_roles import owner_connection


class Command(migrate.Command):
    def handle(self, *args, **options):
        with owner_connection(options["database"]):
            return super().handle(*args, **options)
