"""Staff pages: sign-in (password, then the second factor for the privileged
roles), sign-out, the undertaking, the dashboard."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from config.api import error_body

from . import selectors, services, two_factor
from .forms import SecondFactorForm, SignInForm
from .tenancy import second_factor_required, session_unverified, staff_of

LOCKOUT_MESSAGE = gettext_lazy(
    "This account is locked after too many failed sign-ins. "
    "Try again later or ask your operator admin to unlock it."
)


class SignInView(auth_views.LoginView):
    template_name = "operators/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        url = super().get_success_url()
        if second_factor_required(self.request.user):
            # Signed in, but the gate lets this session reach only the code step.
            return f"{reverse('operators:second-factor')}?{urlencode({'next': url})}"
        return url


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


def _next_url(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not next_url or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return reverse(settings.LOGIN_REDIRECT_URL)
    return next_url


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """The second sign-in step of the privileged roles: the code from their
    authenticator app. Until it is passed the session reaches nothing else."""
    next_url = _next_url(request)
    user = request.user
    if not second_factor_required(user) or not session_unverified(user):
        return redirect(next_url)
    if two_factor.device_of(user=user) is None:
        return render(request, "operators/second_factor.html", {"no_device": True}, status=403)
    if not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
        # Locked by django-axes meanwhile (e.g. wrong passwords elsewhere).
        logout(request)
        return lockout_response(request)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor.second_factor_verify(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except two_factor.SecondFactorLocked as error:
            logout(request)
            form = SignInForm(request)
            context = {"form": form, "locked_out": True, "lockout_message": error.message}
            return render(request, "operators/login.html", context, status=429)
        except two_factor.SecondFactorRequired as error:
            form.add_error("code", error.message)
        except two_factor.SecondFactorInvalid as error:
            form.add_error("code", error.message)
        else:
            # A new session key for the raised privilege, then remember the device.
            request.session.cycle_key()
            otp_login(request, device)
            return redirect(next_url)
    return render(request, "operators/second_factor.html", {"form": form, "next": next_url})


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
            messages.error(
                request, gettext("The undertaking changed while you read it; read it again.")
            )
        elif request.POST.get("accept") != "yes":
            messages.error(request, gettext("Tick the box to accept the undertaking."))
        else:
            services.undertaking_accept(user=request.user, undertaking=current)
            messages.success(request, gettext("Thank you: your acceptance is recorded."))
            return redirect(next_url)
    return render(
        request,
        "operators/undertaking.html",
        {"undertaking": current, "pending": pending, "next": next_url},
    )
