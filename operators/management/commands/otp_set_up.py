from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from operators import two_factor


class Command(BaseCommand):
    help = (
        "Set up a second-factor (TOTP) device for a user and print its set-up link and "
        "secret, once. For the first platform admin or operator admin, who cannot reach "
        "the console's device page before having a device."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="retire the device the user already has"
        )

    def handle(self, *args, **options) -> None:
        user = get_user_model()._default_manager.filter(username=options["username"]).first()
        if user is None:
            raise CommandError("No user with that username.")
        if two_factor.device_of(user=user) is not None and not options["replace"]:
            raise CommandError("This user already has a device: pass --replace to retire it.")
        new = two_factor.device_set_up(user=user, actor=None)
        self.stdout.write(f"set-up link: {new.config_url}\nsecret: {new.secret}")
