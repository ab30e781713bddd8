from django.core.management.base import BaseCommand

from operators import demo


class Command(BaseCommand):
    help = "Create the demo operators, stores, staff (and, as later apps add them, their data)."

    def handle(self, *args, **options) -> None:
        operators = demo.seed_operators()
        self.stdout.write(f"demo data ready: {len(operators)} operators")
