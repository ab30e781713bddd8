"""factory_boy factories. Synthetic data only: no real people, no real stores."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from operators.models import Operator, StaffMember, Store
from operators.roles import Role

PASSWORD = "correct-horse-battery"  # noqa: S105 - a test-only password


class OperatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Operator
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"op{n}")
    name = factory.LazyAttribute(lambda o: f"Operator {o.code}")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    operator = factory.SubFactory(OperatorFactory)
    code = factory.Sequence(lambda n: f"store{n}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    region_code = "110105"
    address = "1 Synthetic Road"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


def ensure_undertaking():
    """The undertaking the data migration publishes. Transactional tests flush
    tables (migration data included), so staff factories bring it back."""
    import importlib

    from django.utils import timezone

    from operators.models import ConfidentialityUndertaking

    migration = importlib.import_module("operators.migrations.0002_first_undertaking")
    return ConfidentialityUndertaking.objects.get_or_create(
        version="2026-1", defaults={"text": migration.TEXT, "published_at": timezone.now()}
    )[0]


class StaffFactory(factory.django.DjangoModelFactory):
    """A staff member who has accepted the current undertaking (pass
    ``accepted=False`` for one who has not)."""

    class Meta:
        model = StaffMember
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    operator = factory.SubFactory(OperatorFactory)
    store = factory.LazyAttribute(
        lambda o: (
            StoreFactory(operator=o.operator)
            if o.role in (Role.CLERK, Role.STORE_MANAGER)
            else None
        )
    )
    role = Role.CLERK

    @factory.post_generation
    def accepted(obj, create, extracted, **kwargs):  # noqa: N805
        from operators import selectors, services

        ensure_undertaking()
        if create and extracted is not False:
            current = selectors.undertaking_current()
            if current is not None:
                services.undertaking_accept(user=obj.user, undertaking=current)
