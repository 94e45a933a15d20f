"""Follow pages: what I follow (with one-click unfollow), and the follow / unfollow buttons'
targets. Every page here is for signed-in users; anonymous visitors are sent to sign in and
nothing is written. Writes are POSTs (CSRF-checked) that work without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from agreements.models import Agreement
from parties.models import Party
from ratification import selectors as search

from . import calendars, follows
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
        {
            "rows": [
                (row, calendars.follow_calendar_url(row.follow))
                for row in follows.follows_for_user(user=request.user)
            ]
        },
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


# Calendars (.ics) ------------------------------------------------------------------------------


def _calendar_response(
    request: HttpRequest, agreements, *, name: str, description: str, filename: str
) -> HttpResponse:
    events = calendars.calendar_events(agreements=agreements, today=timezone.localdate())
    body = calendars.calendar_render(
        events=events,
        name=name,
        description=description,
        base_url=request.build_absolute_uri("/"),
    )
    etag = calendars.calendar_etag(body)
    modified = calendars.calendar_last_modified(events)
    last_modified = modified.timestamp() if modified else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if not_modified is not None:
        return not_modified
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified)
    response["Content-Disposition"] = f'inline; filename="{filename}.ics"'
    return response


@require_safe
def calendar_agreement(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = (
        Agreement.objects.filter(slug=slug)
        .prefetch_related(search.participations_with_parties())
        .first()
    )
    if agreement is None:
        raise Http404("No agreement with that address.")
    label = search.agreement_label(agreement)
    return _calendar_response(
        request,
        Agreement.objects.filter(pk=agreement.pk),
        name=f"Pact Tracker: {label}",
        description=f"Scheduled ratification steps and the expected entry into force of "
        f"{agreement.title}.",
        filename=agreement.slug,
    )


@require_safe
def calendar_party(request: HttpRequest, code: str) -> HttpResponse:
    party = Party.objects.filter(code=code.upper()).first()
    if party is None:
        raise Http404("No party with that code.")
    filters = search.AgreementFilters(parties=(party.code,))
    return _calendar_response(
        request,
        search.agreements_search(filters=filters),
        name=f"Pact Tracker: agreements of {party.name}",
        description=f"Scheduled ratification steps and expected entries into force of the "
        f"agreements {party.name} is party to.",
        filename=f"agreements-{party.code}",
    )


@require_safe
def calendar_search(request: HttpRequest) -> HttpResponse:
    """A calendar of the agreements a search on the agreement list finds (its filters in the
    query string). A filter the list would quietly drop is a 400 here, naming it."""
    try:
        filters = calendars.calendar_filters(request.GET)
    except ValidationError as exc:
        lines = [
            f"{name}: {message}"
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
        return HttpResponseBadRequest(
            "This calendar's filters cannot be used:\n" + "\n".join(lines) + "\n",
            content_type="text/plain; charset=utf-8",
        )
    what = follows.search_describe(calendars.calendar_query(filters))
    return _calendar_response(
        request,
        search.agreements_search(filters=filters),
        name=f"Pact Tracker: {what}",
        description=f"Scheduled ratification steps and expected entries into force of the "
        f"agreements this search finds: {what}.",
        filename="agreements",
    )
