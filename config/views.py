"""Error pages: JSON in the API's error shape under /api/, HTML elsewhere.

Each page is the project's own template (templates/4xx.html, 500.html): no
personal data, nothing from the request but its id. The 500 page renders
without the request's context processors, which ask the database for the
staff member: the failure being handled may be the database itself."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from config.api import error_body


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("bad_request", _("The request is malformed."), {"body": [_("Refused.")]}),
            status=400,
        )
    return render(request, "400.html", status=400)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return render(request, "404.html", status=404)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", _("Not allowed.")), status=403)
    return render(request, "403.html", status=403)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", _("Something went wrong on our side; nothing was changed.")),
            status=500,
        )
    context = {"request_id": getattr(request, "request_id", "")}
    return HttpResponseServerError(loader.get_template("500.html").render(context))
