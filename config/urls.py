from csp.decorators import csp_update
from django.conf import settings
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from config import health, metrics
from operators.admin import console
from registration import store_views as registration_store_views
from reverification import views as reverification_views


def _moved_console_page(
    request: HttpRequest, model: str, rest: str
) -> HttpResponsePermanentRedirect:
    """Console pages of the models that moved from registration to
    reverification keep working at their old addresses (bookmarks, links in
    notes): the same page under its new app."""
    query = request.META.get("QUERY_STRING", "")
    target = f"/console/reverification/{model}/{rest}"
    return HttpResponsePermanentRedirect(f"{target}?{query}" if query else target)


api_v1 = [
    path("", include("operators.api_urls")),
    path("", include("identity.api_urls")),
    path("", include("registration.api_urls")),
    path("", include("reverification.api_urls")),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    re_path(
        r"^console/registration/(?P<model>campaign|reverificationrequest|delivery|dispatchbatch"
        r"|mylineschallenge|dispute)/(?P<rest>.*)$",
        _moved_console_page,
    ),
    # Django's set_language: the language switch of staff pages and the console.
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/", console.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # The partner APIs (banks, apps), CAMARA conventions: registration/partner_api.py.
    path("api/camara/", include("registration.camara_urls")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        # The split view serves its start-up script as a file (no inline
        # script); Swagger UI's own inline styles need style-src widened,
        # for this page alone.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", permission_classes=[AllowAny], authentication_classes=[]
            )
        ),
        name="api-docs",
    ),
    path("r/<str:token>", reverification_views.answer, name="reverification-answer"),
    path("my-lines/", reverification_views.my_lines, name="my-lines"),
    # The receipt's QR code: anyone holding the paper checks it is genuine.
    path(
        "receipt-check/<str:reference>/<str:token>/",
        registration_store_views.receipt_check,
        name="receipt-check",
    ),
    path("brand/<slug:operator_code>.css", reverification_views.brand_css, name="brand-css"),
    path("", include("identity.urls")),
    path("store/", include("registration.urls")),
    path("store/", include("reverification.urls")),
    path("", include("operators.urls")),
]

if settings.TELEREG_BENCH_ENDPOINTS:  # config.settings.bench only (make bench)
    urlpatterns.insert(0, path("bench/", include("config.bench_urls")))

# Prometheus metrics, for the inside only (config/metrics.py: 404 to others).
urlpatterns.insert(0, path("metrics", metrics.metrics, name="metrics"))

handler404 = "config.views.handler404"
handler500 = "config.views.handler500"
handler403 = "config.views.handler403"
handler400 = "config.views.handler400"
