"""Legislative calendar pages: a party's calendar (anyone reads), and the editor's forms to
add, correct and remove a session (parties.services does the checking and the writing).

A form carries the session's version: when someone else changed it in between, nothing is
saved and the editor is told to reload (sessions are short records; no merge page).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from parties import services
from parties.models import Chamber, Legislature, Party, Session

from .editing import editor_required
from .forms import add_service_errors

ADD_SESSION = "parties.add_session"
CHANGE_SESSION = "parties.change_session"
DELETE_SESSION = "parties.delete_session"


class SessionForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="E.g. '217th session (ordinary)'.")
    chamber = forms.ModelChoiceField(
        queryset=Chamber.objects.none(),
        required=False,
        empty_label="The whole legislature",
        help_text="Only this chamber sits; leave as the whole legislature when both do.",
    )
    kind = forms.ChoiceField(choices=Session.Kind.choices)
    opens_on = forms.DateField(
        label="Opens on", widget=forms.DateInput(attrs={"type": "date"}), help_text="YYYY-MM-DD."
    )
    closes_on = forms.DateField(
        label="Closes on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="YYYY-MM-DD; empty while no end is set.",
    )
    source_title = forms.CharField(
        label="Source", max_length=300, help_text="Who published these dates."
    )
    source_url = forms.URLField(
        label="Source address", max_length=500, required=False, assume_scheme="https"
    )
    assumed = forms.BooleanField(
        required=False,
        help_text="Not published yet: the dates follow the legislature's usual pattern.",
    )
    assumed_rule = forms.CharField(
        label="Pattern followed",
        max_length=300,
        required=False,
        help_text="For an assumed period: the rule its dates follow.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, legislature: Legislature, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chamber"].queryset = legislature.chambers.order_by("order", "name")

    def session_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "expected_version"}
        for text in ("assumed_rule", "source_url", "note"):
            data[text] = data[text] or ""
        return data


def _legislatures(code: str) -> tuple[Party, list[Legislature]]:
    party = get_object_or_404(Party, code=code.upper())
    legislatures = list(
        Legislature.objects.filter(party=party)
        .prefetch_related(
            Prefetch("chambers", queryset=Chamber.objects.order_by("order", "name")),
            Prefetch(
                "sessions",
                queryset=Session.objects.select_related("chamber").order_by("opens_on", "pk"),
            ),
        )
        .annotate(assumed_count=Count("sessions", filter=Q(sessions__assumed=True)))
        .order_by("name")
    )
    return party, legislatures


def party_calendar(request: HttpRequest, code: str) -> HttpResponse:
    """A party's legislatures: chambers, sessions with their sources, assumed periods marked."""
    party, legislatures = _legislatures(code)
    return render(
        request,
        "parties/calendar.html",
        {
            "party": party,
            "legislatures": legislatures,
            "can_add": request.user.has_perm(ADD_SESSION),
            "can_change": request.user.has_perm(CHANGE_SESSION),
            "can_delete": request.user.has_perm(DELETE_SESSION),
        },
    )


def _render_form(
    request: HttpRequest, legislature: Legislature, form: SessionForm, title: str, status: int
) -> HttpResponse:
    return render(
        request,
        "parties/session_form.html",
        {"legislature": legislature, "form": form, "title": title, "action": request.path},
        status=status,
    )


@editor_required(ADD_SESSION)
@require_http_methods(["GET", "POST"])
def session_add(request: HttpRequest, legislature_id: int) -> HttpResponse:
    legislature = get_object_or_404(Legislature.objects.select_related("party"), pk=legislature_id)
    form = SessionForm(request.POST or None, legislature=legislature)
    title = f"Add a session to the {legislature.name}"
    if request.method == "POST":
        if form.is_valid():
            try:
                session = services.session_create(legislature=legislature, **form.session_fields())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Added: {session.name}.")
                return redirect(f"{legislature.get_absolute_url()}#session-{session.pk}")
        return _render_form(request, legislature, form, title, 400)
    return _render_form(request, legislature, form, title, 200)


def _session(pk: int) -> Session:
    return get_object_or_404(Session.objects.select_related("legislature__party", "chamber"), pk=pk)


@editor_required(CHANGE_SESSION)
@require_http_methods(["GET", "POST"])
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    legislature = session.legislature
    title = f"Correct {session.name}"
    if request.method == "GET":
        initial = {field: getattr(session, field) for field in services.SESSION_FIELDS}
        initial["expected_version"] = session.version
        form = SessionForm(initial=initial, legislature=legislature)
        return _render_form(request, legislature, form, title, 200)
    form = SessionForm(request.POST, legislature=legislature)
    if form.is_valid():
        try:
            services.session_update(
                session=session,
                expected_version=form.cleaned_data["expected_version"],
                **form.session_fields(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved: {form.cleaned_data['name']}.")
            return redirect(f"{legislature.get_absolute_url()}#session-{session.pk}")
    return _render_form(request, legislature, form, title, 400)


@editor_required(DELETE_SESSION)
@require_http_methods(["GET", "POST"])
def session_remove(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    legislature = session.legislature
    if request.method == "GET":
        return render(
            request,
            "parties/session_remove.html",
            {"session": session, "legislature": legislature, "action": request.path},
        )
    try:
        expected = int(request.POST.get("expected_version", ""))
    except ValueError:
        expected = None
    try:
        services.session_delete(session=session, expected_version=expected)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"Nothing was removed: {message}")
        return redirect(reverse("pages:session_edit", args=[session.pk]))
    messages.success(request, f"Removed: {session.name}.")
    return redirect(legislature.get_absolute_url())
