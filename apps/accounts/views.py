"""Signing in and out, and the account pages under /account/: password, two-factor sign-in,
sessions, single sign-on.

Views stay thin: authorise, bind the form, call one service, redirect or render.
"""

from __future__ import annotations

from base64 import b32encode
from functools import wraps

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as end_session
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from apps.accounts import services, sessions
from apps.accounts.access import authenticated, before_second_factor, public
from apps.accounts.forms import AppCodeForm, CodeForm, PortalPasswordResetForm
from apps.accounts.oidc import PortalOIDCCallbackView, only_when_enabled
from apps.accounts.selectors import authenticator_of, recovery_codes_left, two_factor_required
from apps.accounts.services import Verification

# --- signing in and out ----------------------------------------------------------------------


class PortalLoginView(auth_views.LoginView):
    """Django's sign-in, offering single sign-on and password reset when they are set up. The
    second factor, where there is one, is asked for next (``TwoFactorMiddleware``)."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sign_on_name=settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else "",
            password_reset_enabled=settings.PASSWORD_RESET_ENABLED,
            **kwargs,
        )


login = public(PortalLoginView.as_view())
logout = public(auth_views.LogoutView.as_view())


# --- the account page and sessions ------------------------------------------------------------


@authenticated
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    signed_in_at = request.session.get(sessions.SIGNED_IN_AT)
    context = {
        "has_password": user.has_usable_password(),
        "has_authenticator": authenticator_of(user) is not None,
        "two_factor_required": two_factor_required(user),
        "codes_left": recovery_codes_left(user),
        "signed_in_at": sessions.as_datetime(signed_in_at),
        "session_ends_at": sessions.as_datetime(
            signed_in_at + settings.SESSION_MAX_AGE_HOURS * 3600 if signed_in_at else None
        ),
        "idle_minutes": settings.SESSION_IDLE_TIMEOUT_MINUTES,
        "ends_with_browser": sessions.ends_with_browser(user),
    }
    return render(request, "accounts/account.html", context)


@authenticated
@require_http_methods(["GET", "POST"])
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.user_sign_out_everywhere(user=request.user)
        end_session(request)
        messages.success(request, "You are signed out everywhere: on this device and every other one.")
        return redirect("login")
    return render(request, "accounts/sign_out_everywhere.html")


# --- passwords --------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's (it keeps this session and, since the password is part of the session hash, ends
    the others), audited."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("account:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_password_changed(user=self.request.user, how="change")
        messages.success(
            self.request, "Your password is changed. Any other device you were signed in on is signed out."
        )
        return response


def only_when_reset_enabled(view):
    """Password reset pages exist only where the portal can send email."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.PASSWORD_RESET_ENABLED:
            raise Http404("Password reset by email is not set up.")
        return view(request, *args, **kwargs)

    return wrapped


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("account:password_reset_done")

    def form_valid(self, form):
        # The link is built from SITE_URL, never from the request's Host header.
        self.extra_email_context = {"site_url": settings.SITE_URL.rstrip("/")}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("account:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.user_password_changed(user=self.user, how="reset")
        return response


password_change = authenticated(PasswordChangeView.as_view())
password_reset = public(only_when_reset_enabled(PasswordResetView.as_view()))
password_reset_done = public(
    only_when_reset_enabled(
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html")
    )
)
password_reset_confirm = public(only_when_reset_enabled(PasswordResetConfirmView.as_view()))
password_reset_complete = public(
    only_when_reset_enabled(
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        )
    )
)


# --- two-factor sign-in -----------------------------------------------------------------------


@authenticated
def two_factor(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "has_authenticator": authenticator_of(user) is not None,
            "required": two_factor_required(user),
            "codes_left": recovery_codes_left(user),
        },
    )


@before_second_factor
@authenticated
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    user = request.user
    if authenticator_of(user) is not None:
        return _already_enrolled(request)
    device = services.two_factor_start(user=user)
    form = AppCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.two_factor_enrol(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            return _enrolled(request, device, codes)
        form.add_error("code", "That code is not right. Check the time on your phone and try the next code.")
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "secret": _grouped(b32encode(device.bin_key).decode()),
            "qr_svg": _qr_svg(device),
            "required": two_factor_required(user),
            "next": _safe_next(request),
        },
        status=400 if form.errors else 200,
    )


def _already_enrolled(request: HttpRequest) -> HttpResponse:
    # Someone holding only the password must not replace the authenticator.
    if not request.user.is_verified():
        return redirect(f"{reverse('account:two_factor_verify')}?next={reverse('account:two_factor')}")
    messages.info(request, "Two-factor sign-in is already set up.")
    return redirect("account:two_factor")


def _enrolled(request: HttpRequest, device: TOTPDevice, codes: list[str]) -> HttpResponse:
    """Sign in with the new authenticator and show the recovery codes, once."""
    device.refresh_from_db()
    otp_login(request, device)
    update_session_auth_hash(request, request.user)  # this session goes on; the others ended
    context = {"codes": codes, "just_enrolled": True, "next": _safe_next(request)}
    return render(request, "accounts/recovery_codes.html", context)


@before_second_factor
@authenticated
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request)
    if user.is_verified():
        return redirect(next_url)
    credentials = {"username": user.get_username()}
    if settings.AXES_ENABLED and AxesProxyHandler.is_locked(request, credentials):
        return _locked_out(request, credentials)
    has_device = authenticator_of(user) is not None
    form = CodeForm(request.POST or None)
    if request.method == "POST" and has_device and form.is_valid():
        result = services.two_factor_verify(user=user, code=form.cleaned_data["code"])
        if result.ok:
            return _verified(request, result, next_url)
        if (locked := _code_refused(request, form, result, credentials)) is not None:
            return locked
    return render(
        request,
        "accounts/two_factor_verify.html",
        {
            "form": form,
            "has_device": has_device,
            "required": two_factor_required(user),
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


def _verified(request: HttpRequest, result: Verification, next_url: str) -> HttpResponse:
    otp_login(request, result.device)
    request.session.cycle_key()  # a new session key for the elevated session
    if result.recovery_code:
        messages.warning(
            request,
            f"You used a recovery code; {result.recovery_codes_left} left. "
            "Make new ones on your account page if you are running low.",
        )
    return redirect(next_url)


def _code_refused(
    request: HttpRequest, form: CodeForm, result: Verification, credentials: dict
) -> HttpResponse | None:
    """Say why the code was refused on the form. A wrong code counts toward the same lockout as
    wrong passwords (django-axes, username + address); the lockout's response when it locks."""
    if result.throttled:
        form.add_error(None, "Too many wrong codes in a row. Wait a little, then try again.")
        return None
    form.add_error("code", "That code is not right.")
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        return _locked_out(request, credentials)
    return None


@authenticated
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once in the response that makes them (never stored in the session)."""
    if authenticator_of(request.user) is None:
        return render(request, "accounts/recovery_codes.html", {"no_authenticator": True})
    if request.method == "POST":
        codes = services.recovery_codes_replace(user=request.user)
        return render(
            request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("account:two_factor")}
        )
    return render(request, "accounts/recovery_codes.html", {"codes_left": recovery_codes_left(request.user)})


@authenticated
@require_http_methods(["GET", "POST"])
def two_factor_turn_off(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor_required(user):
        raise PermissionDenied("Your role requires two-factor sign-in, so it cannot be turned off.")
    if authenticator_of(user) is None:
        return render(request, "accounts/two_factor_turn_off.html", {"no_authenticator": True})
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.two_factor_verify(user=user, code=form.cleaned_data["code"]).ok:
            services.two_factor_turn_off(user=user)
            messages.success(request, "Two-factor sign-in is off. You can set it up again at any time.")
            return redirect("account:two_factor")
        form.add_error("code", "That code is not right.")
    return render(
        request, "accounts/two_factor_turn_off.html", {"form": form}, status=400 if form.errors else 200
    )


def _locked_out(request: HttpRequest, credentials: dict) -> HttpResponse:
    """Sign the person out; AxesMiddleware answers with the lockout page."""
    end_session(request)
    request.axes_locked_out = True
    request.axes_credentials = credentials
    return redirect("login")


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _qr_svg(device: TOTPDevice) -> str:
    # Drawn here as inline SVG (no image request, no CDN, nothing the CSP must allow). The SVG is
    # qrcode's own output of the otpauth URL: it carries no text from a user.
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


# --- single sign-on -----------------------------------------------------------------------------

oidc_start = public(only_when_enabled(OIDCAuthenticationRequestView.as_view()))
oidc_callback = public(only_when_enabled(PortalOIDCCallbackView.as_view()))
