from django.db import migrations
from django.utils import timezone

TEXT = """As a member of staff of a telecommunications operator using telereg, I undertake to:

1. Keep secret the personal information of users that I see or handle in my work: names, birth dates, identity document numbers, addresses, service accounts, and the time and place of use of services.
2. Never divulge, distort, destroy, sell or illegally provide that information to anyone, inside or outside the operator.
3. Collect and use personal information only for the registration or service the user asked for, and only with the user's consent.
4. Look at unmasked personal information only when my work requires it, stating the reason each time, knowing that every such access is recorded and reviewed.
5. Report at once any loss, leak or misuse of personal information that I learn of.

I understand that breaking this undertaking can lead to disciplinary action and to the penalties provided by law, including criminal liability."""


def publish(apps, schema_editor):
    Undertaking = apps.get_model("operators", "ConfidentialityUndertaking")
    Undertaking.objects.get_or_create(
        version="2026-1", defaults={"text": TEXT, "published_at": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [("operators", "0001_initial")]

    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
