from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from identity import services
from identity.models import NoticeLanguage
from identity.services import CitizenRow, ConsentInput
from identity.synthetic import synthetic_identity
from operators.roles import Role
from tests.factories import OperatorFactory, StaffFactory, StoreFactory


@pytest.fixture
def alpha(db):
    return OperatorFactory(code="alpha", name="Alpha Telecom")


@pytest.fixture
def beta(db):
    return OperatorFactory(code="beta", name="Beta Mobile")


@pytest.fixture
def make_staff(db):
    def make(operator, role=Role.CLERK, **kwargs):
        return StaffFactory(operator=operator, role=role, **kwargs)

    return make


@pytest.fixture
def api_client_for():
    """An API client signed in with a token as the given staff member's user."""
    from rest_framework.authtoken.models import Token

    def make(staff_or_user):
        user = getattr(staff_or_user, "user", staff_or_user)
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


@pytest.fixture
def web_client_for(client):
    """The Django test client signed in (session) as the given staff member's user."""

    def make(staff_or_user):
        user = getattr(staff_or_user, "user", staff_or_user)
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def beta_store(beta):
    return StoreFactory(operator=beta, code="beta-shop")


NOTICE_PARTS_EN = {
    "purpose": "To register the true identity of telephone users, as the law requires.",
    "manner": "Collected in store or online from your identity document.",
    "scope": "Name, birth date, sex, document type and number, address.",
    "retention": "Kept while you hold a line and two years after the last one closes.",
    "query_and_correction": "Ask in any store or through the self-service pages.",
    "consequences_of_refusal": "Without it we cannot open or change a line in your name.",
}


@pytest.fixture
def rng():
    return random.Random(20261128)  # noqa: S311 - synthetic test data only


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def publish_notice():
    def publish(operator, language=NoticeLanguage.EN, **overrides):
        draft = services.notice_draft_create(
            operator=operator, language=language, parts={**NOTICE_PARTS_EN, **overrides}
        )
        return services.notice_publish(notice=draft, actor=None)

    return publish


@pytest.fixture
def alpha_notice(alpha, publish_notice):
    return publish_notice(alpha)


@pytest.fixture
def consent(alpha_notice):
    return ConsentInput(notice_hash=alpha_notice.content_hash, given=True)


@pytest.fixture
def make_identity(rng, today):
    def make(**overrides):
        identity = synthetic_identity(rng=rng, today=today)
        if overrides:
            from dataclasses import replace

            identity = replace(identity, **overrides)
        return identity

    return make


@pytest.fixture
def citizen(make_identity):
    """A synthetic identity known to the simulated authority."""

    def make(revoked=False, **overrides):
        identity = make_identity(**overrides)
        services.authority_registry_load(
            [
                CitizenRow(
                    id_type=identity.id_type,
                    id_number=identity.id_number,
                    name=identity.name,
                    date_of_birth=identity.date_of_birth,
                    sex=identity.sex,
                    revoked=revoked,
                )
            ]
        )
        return identity

    return make


@pytest.fixture
def alpha_clerk(alpha, make_staff):
    return make_staff(alpha, Role.CLERK)


@pytest.fixture
def alpha_compliance(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def register(alpha, alpha_clerk, consent):
    def do(identity, operator=None, actor=None):
        return services.person_register(
            operator=operator or alpha,
            identity=identity,
            consent=consent,
            channel="store",
            actor=(actor or alpha_clerk).user if hasattr(actor or alpha_clerk, "user") else actor,
            store=alpha_clerk.store,
        )

    return do


def years_ago(today: dt.date, years: int) -> dt.date:
    return today.replace(year=today.year - years)


# Real-process fixtures (a Celery worker) and the registration fixtures, for every test tree.
from tests.integration.conftest import celery_worker_process, celery_workers  # noqa: E402, F401
from tests.registration.conftest import catalog, inventory, open_mobile, submit  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles and counters live in the cache: each test starts without them."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def audit_checkpoint_dir(settings, tmp_path_factory):
    """Each test signs its access-log checkpoints into a folder of its own: a
    checkpoint left by another test would name chains this test never wrote."""
    path = tmp_path_factory.mktemp("audit-checkpoints")
    settings.TELEREG_AUDIT_CHECKPOINT_DIR = str(path)
    return path
