import os

from django.conf import settings
from django.core.management.base import BaseCommand

from operators import demo


class Command(BaseCommand):
    help = "Print where the running system is and how to sign in to the demo."

    def handle(self, *args, **options) -> None:
        bind = os.environ.get("BIND", "127.0.0.1:8000")
        db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
        lines = [
            "",
            f"telereg is starting on http://{bind}/  (console: /console/, API docs: /api/docs/)",
            f"database: {db}, broker: {broker}",
            f"demo sign-ins (password: {settings.TELEREG_DEMO_PASSWORD}):",
            *[f"  {username:<18} {role}" for username, role in demo.demo_usernames()],
            "compliance officers and operator admins then enter a 6-digit code:",
            f"  secrets in {demo.demo_otp_path()}; current codes: python manage.py demo_otp_codes",
            "Ctrl-C stops web, worker and beat.",
            "",
        ]
        self.stdout.write("\n".join(lines))
