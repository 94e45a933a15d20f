"""Follow pages: what I follow (with one-click unfollow), and the follow / unfollow buttons'
targets. Every page here is for signed-in users; anonymous visitors are sent to sign in and
nothing is written. Writes are POSTs (CSRF-checked) that work without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import follows
from .forms import FollowForm
from .models import Follow


def _back(request: HttpRequest) -> str:
    """The page the button was on (a local address only), else the follows page."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("accounts:follow_list")


@login_required
def follow_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/follow_list.html",
        {"rows": follows.follows_for_user(user=request.user)},
    )


@require_POST
def follow_create(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        # Back to the page with the button after signing in, not to this POST-only address.
        return redirect_to_login(_back(request))
    form = FollowForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or ["Nothing to follow was named."]:
            messages.error(request, error)
        return redirect(_back(request))
    data = form.cleaned_data
    try:
        follow, created = follows.follow_create(
            user=request.user,
            kind=data["kind"],
            agreement=data["agreement"] or None,
            party=data["party"] or None,
            query=data["query"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(request))
    label = follows.follow_label(follow)
    if not request.user.email:
        messages.warning(
            request,
            f"You follow {label}, but your account has no email address, so no email can be "
            "sent; ask an administrator to add one.",
        )
    else:
        messages.success(
            request,
            f"You {'now ' if created else ''}follow {label}. Each new flagged change is emailed "
            f"to {request.user.email}.",
        )
    return redirect(_back(request))


@require_http_methods(["GET", "POST"])
def follow_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: ask (the link in every email lands here); POST: unfollow."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        follow = Follow.objects.filter(pk=pk, user_id=request.user.pk).first()
        label = follows.follow_label(follow) if follow else ""
        if follows.follow_delete(user=request.user, follow_id=pk):
            messages.success(request, f"You no longer follow {label}.")
        return redirect(_back(request))
    follow = get_object_or_404(
        Follow.objects.select_related("agreement", "party").prefetch_related(
            "agreement__participations__party"
        ),
        pk=pk,
        user_id=request.user.pk,
    )
    return render(
        request,
        "accounts/follow_delete.html",
        {
            "follow": follow,
            "label": follows.follow_label(follow),
            "url": follows.follow_url(follow),
        },
    )
