"""seed_demo lives in the top app because it seeds every app (dependencies
point reverification -> registration -> identity -> operators)."""

from django.core.management.base import BaseCommand

from identity import demo as identity_demo
from operators import demo
from registration import demo as registration_demo
from reverification import demo as demo_reverification


class Command(BaseCommand):
    help = (
        "Create the demo operators, stores, staff, privacy notices, synthetic citizens, "
        "number inventory, service catalog, demo lines and a draft re-verification campaign."
    )

    def handle(self, *args, **options) -> None:
        operators = demo.seed_operators()
        partners = demo.seed_partners()
        otp_path = demo.seed_otp_devices()
        numbers = services = 0
        for operator in operators:
            identity_demo.seed_notices(operator)
            added_numbers, added_services = registration_demo.seed_registration(operator)
            numbers += added_numbers
            services += added_services
        path = identity_demo.seed_citizens()
        lines = 0
        for operator in operators:
            lines += demo_reverification.seed_lines(operator)
            demo_reverification.seed_campaign(operator)
        self.stdout.write(
            f"demo data ready: {len(operators)} operators, {len(partners)} partners "
            f"(alpha-partner, beta-partner: API only); {numbers} numbers, "
            f"{services} services and {lines} lines added; synthetic citizens in {path}; "
            f"second-factor secrets of the privileged demo users in {otp_path} "
            "(current codes: python manage.py demo_otp_codes)"
        )
