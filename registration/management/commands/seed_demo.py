"""seed_demo lives in the top app because it seeds every app (dependencies
point registration -> identity -> operators)."""

from django.core.management.base import BaseCommand

from identity import demo as identity_demo
from operators import demo


class Command(BaseCommand):
    help = "Create the demo operators, stores, staff, privacy notices and synthetic citizens."

    def handle(self, *args, **options) -> None:
        operators = demo.seed_operators()
        for operator in operators:
            identity_demo.seed_notices(operator)
        path = identity_demo.seed_citizens()
        self.stdout.write(
            f"demo data ready: {len(operators)} operators; synthetic citizens in {path}"
        )
