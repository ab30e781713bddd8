from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from identity import services
from identity.models import NoticeLanguage
from identity.services import CitizenRow, ConsentInput
from identity.synthetic import synthetic_identity
from operators.models import StaffMember
from operators.roles import SECOND_FACTOR, Role
from tests.catalogues import compile_catalogues
from tests.factories import PASSWORD, OperatorFactory, StaffFactory, StoreFactory


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


def second_factor_required(user) -> bool:
    """Whether the user signs in with a code (read afresh: tenancy.staff_of would
    cache the profile on a user object the test goes on using)."""
    return user.is_superuser or (
        StaffMember.objects.filter(user=user, active=True, role__in=SECOND_FACTOR).exists()
    )


def totp_code(device, *, step_offset: int = 0) -> str:
    """The code the device's authenticator app shows now (or ``step_offset``
    steps later; the server accepts one step of drift either way)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + step_offset * device.step
    return f"{totp.token():0{device.digits}d}"


def otp_device_for(user):
    """The user's TOTP device, set up the way an operator admin does it."""
    from operators import two_factor

    return two_factor.device_of(user=user) or two_factor.device_set_up(user=user, actor=None).device


def fresh_totp_code(device) -> str:
    """A code the server has not accepted yet: codes are single-use, so a second
    sign-in within the same 30 s takes the next step's code."""
    device.refresh_from_db()
    now_t = int((time.time() - device.t0) // device.step)
    if device.last_t < now_t:
        return totp_code(device)
    assert device.last_t == now_t, "more than two sign-ins of one user within 30 s"
    return totp_code(device, step_offset=1)


def privileged_login(client, user):
    """Sign ``client`` in as ``user`` (session) with the second factor passed,
    as the code step leaves it: the device set up, the session verified."""
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if second_factor_required(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = otp_device_for(user).persistent_id
        session.save()
    return client


def issue_token(user, password: str = PASSWORD) -> str:
    """An API token, signed in through POST /api/v1/auth/token/ with the
    password and, for the privileged roles, a valid authenticator code."""
    body = {"username": user.get_username(), "password": password}
    if second_factor_required(user):
        body["otp"] = fresh_totp_code(otp_device_for(user))
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["token"]


@pytest.fixture
def api_client_for():
    """An API client signed in with a token as the given staff member's user
    (privileged roles: issued with their second factor, by the token view)."""
    from rest_framework.authtoken.models import Token

    def make(staff_or_user):
        user = getattr(staff_or_user, "user", staff_or_user)
        client = APIClient()
        if second_factor_required(user):
            key = issue_token(user)
        else:
            key = Token.objects.get_or_create(user=user)[0].key
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def web_client_for(client):
    """The Django test client signed in (session) as the given staff member's
    user; privileged roles with their second factor passed."""

    def make(staff_or_user):
        return privileged_login(client, getattr(staff_or_user, "user", staff_or_user))

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
def _language_and_zone_of_the_settings():
    """Each test starts and ends in the settings' language and time zone: a
    page rendered in Chinese (the test client runs requests in the test's own
    thread, and the middleware activates the staff's language) must not leave
    the next test's commands and messages speaking Chinese."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)
    timezone.deactivate()


@pytest.fixture(autouse=True)
def audit_checkpoint_dir(settings, tmp_path_factory):
    """Each test signs its access-log checkpoints into a folder of its own: a
    checkpoint left by another test would name chains this test never wrote."""
    path = tmp_path_factory.mktemp("audit-checkpoints")
    settings.TELEREG_AUDIT_CHECKPOINT_DIR = str(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """i12l2: the apps' catalogues compiled for the run (.mo files are not committed)."""
    compile_catalogues()
