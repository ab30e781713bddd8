import base64
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from operators import demo


class Command(BaseCommand):
    help = (
        "Print the current sign-in codes of the demo users, computed from the secrets "
        "seed_demo wrote to var/demo-otp.csv (the database is not read)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--file", help="another demo-otp.csv than var/demo-otp.csv")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"]) if options["file"] else None
        try:
            secrets = demo.demo_otp_secrets(path)
        except FileNotFoundError as error:
            raise CommandError(
                "No demo-otp.csv: run `python manage.py seed_demo` first."
            ) from error
        now = time.time()
        for username, secret in secrets:
            key = base64.b32decode(secret + "=" * (-len(secret) % 8))
            totp = TOTP(key)
            totp.time = now
            remaining = 30 - int(now) % 30
            self.stdout.write(f"{username:<18} {totp.token():06d}  (for {remaining} s more)")
