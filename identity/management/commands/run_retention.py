from django.core.management.base import BaseCommand

from identity import services


class Command(BaseCommand):
    help = "Crypto-shred persons whose retention term has elapsed (also run daily by beat)."

    def handle(self, *args, **options) -> None:
        count = services.retention_run()
        self.stdout.write(f"erased {count} person(s)")
