"""Staff pages: sign-in, sign-out, the undertaking, the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from config.api import error_body

from . import selectors, services
from .forms import SignInForm
from .tenancy import staff_of

LOCKOUT_MESSAGE = (
    "This account is locked after too many failed sign-ins. "
    "Try again later or ask your operator admin to unlock it."
)


class SignInView(auth_views.LoginView):
    template_name = "operators/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    pass


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """django-axes calls this when a username is locked: JSON in the API's shape
    for API paths, the sign-in page with the reason for people."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("account_locked", LOCKOUT_MESSAGE), status=429)
    form = SignInForm(request)
    return render(
        request,
        "operators/login.html",
        {"form": form, "locked_out": True, "lockout_message": LOCKOUT_MESSAGE},
        status=429,
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "operators/dashboard.html", {"staff": staff_of(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def undertaking(request: HttpRequest) -> HttpResponse:
    current = selectors.undertaking_current()
    next_url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = settings.LOGIN_REDIRECT_URL
    pending = selectors.undertaking_pending(request.user)
    if request.method == "POST" and current is not None:
        if request.POST.get("version") != current.version:
            messages.error(request, "The undertaking changed while you read it; read it again.")
        elif request.POST.get("accept") != "yes":
            messages.error(request, "Tick the box to accept the undertaking.")
        else:
            services.undertaking_accept(user=request.user, undertaking=current)
            messages.success(request, "Thank you: your acceptance is recorded.")
            return redirect(next_url)
    return render(
        request,
        "operators/undertaking.html",
        {"undertaking": current, "pending": pending, "next": next_url},
    )
