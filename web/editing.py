"""The editor's pages: record a step, correct an agreement, add its parts, create one, see and
revert its history, import and export.

Views are thin: a form checks the shape, a service (ratification.services, agreements.services,
transfer.services, and web.history for reverts) validates, writes in one transaction and
recomputes the status. Anonymous visitors are sent to the sign-in page; signed-in users without the editor
role get a 403. Forms that edit a versioned row carry the version they were loaded with; when
someone else saved in between, the editor sees the conflict page: their edit merged with the
other one against the version the form was loaded from (see "Conflicts" below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_http_methods, require_POST

from agreements import services as parts
from agreements.duplicates import DuplicateSuspected, agreements_with_parties
from agreements.models import Agreement, Participation, Provision, Relation, Signatory
from agreements.services import ConflictError
from parties.models import Party
from ratification.merging import MergeRefused, merge_plan
from ratification.merging import agreement_merge as agreement_merge_service
from ratification.models import RatificationStep
from ratification.services import agreement_create, procedure_for_party
from ratification.services import step_remove as step_remove_service
from transfer import services as transfer

from . import conflicts, history
from .forms import (
    AgreementCreateForm,
    AgreementFactsForm,
    AgreementSourceForm,
    AgreementSubjectsForm,
    ImportForm,
    ProcedureForm,
    ProvisionEditForm,
    ProvisionForm,
    RelationEditForm,
    RelationForm,
    SignatoryEditForm,
    SignatoryForm,
    StepAddForm,
    StepRecordForm,
    add_service_errors,
)
from .merge import Side

# Permissions (ratification/0002_roles gives them to the `editors` group).
CHANGE_STEP = "ratification.change_ratificationstep"
ADD_STEP = "ratification.add_ratificationstep"
DELETE_STEP = "ratification.delete_ratificationstep"
CHANGE_AGREEMENT = "agreements.change_agreement"
ADD_AGREEMENT = "agreements.add_agreement"
ADD_SIGNATORY = "agreements.add_signatory"
ADD_PROVISION = "agreements.add_provision"
ADD_RELATION = "agreements.add_relation"
CHANGE_SIGNATORY = "agreements.change_signatory"
DELETE_SIGNATORY = "agreements.delete_signatory"
CHANGE_PROVISION = "agreements.change_provision"
DELETE_PROVISION = "agreements.delete_provision"
CHANGE_RELATION = "agreements.change_relation"
DELETE_RELATION = "agreements.delete_relation"
DELETE_AGREEMENT = "agreements.delete_agreement"
VIEW_AGREEMENT = "agreements.view_agreement"


def editor_required(*perms: str) -> Callable:
    """Anonymous: to the sign-in page (and back). Signed in without `perms`: 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_perms(perms):
                raise PermissionDenied("This page needs the editor role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _agreement(slug: str) -> Agreement:
    # The parties name the agreement in titles and breadcrumbs (the agreement_label filter).
    return get_object_or_404(Agreement.objects.prefetch_related("participations__party"), slug=slug)


def _party_codes(agreement: Agreement) -> list[str]:
    return list(
        agreement.participations.order_by("party__name").values_list("party__code", flat=True)
    )


def _back_to(request: HttpRequest, default: str) -> str:
    """`next` when it is a safe address on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _share_source_choices(forms: Iterable[Any]) -> None:
    """Many forms on one page cite sources: read the list once, not once per form."""
    choices = None
    for form in forms:
        if "source" not in form.fields:
            continue
        if choices is None:
            choices = list(form.fields["source"].choices)
        form.fields["source"].choices = choices


# The editor's agreement page ----------------------------------------------------------------


def _agreement_for_editing(slug: str) -> Agreement:
    steps = RatificationStep.objects.select_related("source").order_by("order", "pk")
    queryset = Agreement.objects.prefetch_related(
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("party").prefetch_related(
                Prefetch("steps", queryset=steps)
            ),
        ),
        "signatories__party",
        "provisions",
        "relations_from__to_agreement",
        "sources",
    )
    return get_object_or_404(queryset, slug=slug)


@editor_required(CHANGE_AGREEMENT)
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """The agreement's facts (POST saves them), and every part's quick-edit form (GET)."""
    agreement = _agreement_for_editing(slug)
    if request.method == "POST":
        form = AgreementFactsForm(request.POST, instance=_agreement(slug))
        stale = _posted_version(request) not in (None, agreement.version)
        if stale:
            return _agreement_conflict(request, agreement, form)
        if form.is_valid():
            try:
                form.save()
            except ConflictError:
                return _agreement_conflict(request, _agreement(slug), form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "The agreement's facts are saved.")
                return redirect(agreement.get_absolute_url())
        return render(
            request,
            "editing/agreement_facts.html",
            {"a": agreement, "form": form},
            status=400,
        )

    party_codes = [p.party.code for p in agreement.participations.all()]
    tracks = [
        (
            participation,
            [(step, StepRecordForm(step=step)) for step in participation.steps.all()],
        )
        for participation in agreement.participations.all()
    ]
    part_forms = {
        "facts_form": AgreementFactsForm(instance=agreement),
        "subjects_form": AgreementSubjectsForm(agreement=agreement),
        "step_add_form": StepAddForm(agreement=agreement, party_codes=party_codes),
        "signatory_form": SignatoryForm(party_codes=party_codes),
        "provision_form": ProvisionForm(),
        "relation_form": RelationForm(agreement=agreement),
        "source_form": AgreementSourceForm(),
    }
    part_sections = _part_sections(agreement, party_codes)
    _share_source_choices(
        [f for _, pairs in tracks for _, f in pairs]
        + list(part_forms.values())
        + [row.form for _, _, rows in part_sections for row in rows]
    )
    return render(
        request,
        "editing/agreement_edit.html",
        {"a": agreement, "tracks": tracks, "part_sections": part_sections, **part_forms},
    )


@dataclass(frozen=True)
class _PartRow:
    """One recorded part on the edit page: what it says, its correction form, its remove button
    (templates/editing/_part_row.html)."""

    summary: str
    form: Any
    edit_url: str
    remove_url: str
    link: tuple[str, str] | None = None  # (address, text) of a page to open beside it


def _part_sections(agreement: Agreement, party_codes: list[str]) -> list[tuple]:
    """(anchor, heading, rows) for the signatories, provisions and relations."""
    slug = agreement.slug

    def urls(kind: str, pk: int) -> dict[str, str]:
        return {
            "edit_url": reverse(f"pages:{kind}_edit", args=[slug, pk]),
            "remove_url": reverse(f"pages:{kind}_remove", args=[slug, pk]),
        }

    signatories = [
        _PartRow(
            summary=f"{s.name}, {s.role} ({s.party.code})",
            form=SignatoryEditForm(signatory=s, party_codes=party_codes),
            **urls("signatory", s.pk),
        )
        for s in agreement.signatories.all()
    ]
    provisions = [
        _PartRow(
            summary=_provision_summary(p),
            form=ProvisionEditForm(provision=p),
            **urls("provision", p.pk),
        )
        for p in agreement.provisions.all()
    ]
    relations = []
    for r in agreement.relations_from.all():
        other = r.to_agreement.short_name or r.to_agreement.title
        relations.append(
            _PartRow(
                summary=_relation_summary(r),
                form=RelationEditForm(relation=r),
                link=(r.to_agreement.get_absolute_url(), f"Open {other}"),
                **urls("relation", r.pk),
            )
        )
    return [
        ("parts-signatories", "Signatories", signatories),
        ("parts-provisions", "Provisions", provisions),
        ("parts-relations", "Relations to other agreements", relations),
    ]


def _provision_summary(provision: Provision) -> str:
    label = f"{provision.label}: " if provision.label else ""
    return f"{label}{provision.get_category_display()} — {Truncator(provision.text).chars(80)}"


def _relation_summary(relation: Relation) -> str:
    other = relation.to_agreement.short_name or relation.to_agreement.title
    note = f" ({relation.note})" if relation.note else ""
    return f"This agreement {relation.get_kind_display().lower()} {other}{note}"


def _posted_version(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("expected_version", ""))
    except ValueError:
        return None


# Steps ----------------------------------------------------------------------------------------


@editor_required(CHANGE_STEP)
@require_http_methods(["GET", "POST"])
def step_record(request: HttpRequest, pk: int) -> HttpResponse:
    """Record what happened to one step (completed, failed, scheduled, …)."""
    step = _step_for_recording(pk)
    done_url = _step_done_url(request, step)
    if request.method == "GET":
        form = StepRecordForm(step=step)
        return _render_step(request, step, form)

    form = StepRecordForm(request.POST, step=step)
    posted = _posted_version(request)
    if posted is not None and posted != step.version:
        return _step_conflict(request, step, form)
    if form.is_valid():
        try:
            form.save(user=request.user)
        except ConflictError:
            step.refresh_from_db()
            return _step_conflict(request, step, form)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Recorded: {step.participation.party.code} {_step_name(step)}."
            )
            return redirect(done_url)
    return _render_step(request, step, form, status=400)


def _step_name(step: RatificationStep) -> str:
    body = f" ({step.body})" if step.body else ""
    return f"step {step.order}, {step.get_kind_display().lower()}{body}"


def _render_step(
    request: HttpRequest, step: RatificationStep, form: StepRecordForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "editing/step_record.html",
        {
            "a": step.participation.agreement,
            "step": step,
            "party": step.participation.party,
            "form": form,
            "next": _back_to(request, ""),
        },
        status=status,
    )


@editor_required(ADD_STEP)
@require_http_methods(["GET", "POST"])
def step_add(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    codes = _party_codes(agreement)
    form = StepAddForm(request.POST or None, agreement=agreement, party_codes=codes)
    if request.method == "POST" and form.is_valid():
        try:
            form.save(user=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Step added to {form.cleaned_data['party']}'s procedure.")
            return redirect(f"{agreement.get_absolute_url()}#party-{form.cleaned_data['party']}")
    return _render_part(request, agreement, form, "Add a step", "pages:step_add")


@editor_required(DELETE_STEP)
@require_http_methods(["GET", "POST"])
def step_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirm page, saying what goes and that readers told its outcome hear it no
    longer stands. POST: remove it with the version the step page showed (a step recorded
    since is a conflict, and nothing goes)."""
    step = _step_for_recording(pk)
    agreement = step.participation.agreement
    what = f"{step.participation.party.code} {_step_name(step)}"
    done_url = f"{agreement.get_absolute_url()}#party-{step.participation.party.code}"
    if request.method == "GET":
        seen = _int_or_none(request.GET.get("expected_version"))
        return render(
            request,
            "editing/remove_confirm.html",
            {
                "a": agreement,
                "what": what,
                "action": request.path,
                "expected_version": step.version if seen is None else seen,
                "cancel_url": reverse("pages:step_record", args=[step.pk]),
                "step": step,
            },
        )
    try:
        step_remove_service(step=step, expected_version=_posted_version(request))
    except ConflictError:
        messages.error(
            request,
            "Someone else recorded this step since you opened the page; nothing was removed. "
            "Check what they recorded, then decide again.",
        )
        return redirect(reverse("pages:step_record", args=[step.pk]))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages) + " Nothing was removed.")
        return redirect(reverse("pages:step_record", args=[step.pk]))
    messages.success(request, f"Removed: {what}.")
    return redirect(done_url)


# The agreement's parts --------------------------------------------------------------------------


def _render_part(
    request: HttpRequest,
    agreement: Agreement,
    form: Any,
    title: str,
    url_name: str,
    *,
    pk: int | None = None,
    status: int | None = None,
) -> HttpResponse:
    args = [agreement.slug] if pk is None else [agreement.slug, pk]
    return render(
        request,
        "editing/part_form.html",
        {
            "a": agreement,
            "form": form,
            "title": title,
            "action": reverse(url_name, args=args),
        },
        status=status or (400 if form.is_bound else 200),
    )


def _part_view(
    request: HttpRequest,
    agreement: Agreement,
    form: Any,
    save: Callable[[], Any],
    *,
    title: str,
    url_name: str,
    done: str,
    anchor: str,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            save()
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(f"{agreement.get_absolute_url()}#{anchor}")
    return _render_part(request, agreement, form, title, url_name)


@editor_required(ADD_SIGNATORY)
@require_http_methods(["GET", "POST"])
def signatory_add(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    form = SignatoryForm(request.POST or None, party_codes=_party_codes(agreement))
    return _part_view(
        request,
        agreement,
        form,
        lambda: form.save(agreement=agreement),
        title="Add a signatory",
        url_name="pages:signatory_add",
        done="Signatory added.",
        anchor="signatories",
    )


@editor_required(ADD_PROVISION)
@require_http_methods(["GET", "POST"])
def provision_add(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    form = ProvisionForm(request.POST or None)
    return _part_view(
        request,
        agreement,
        form,
        lambda: form.save(agreement=agreement),
        title="Add a provision",
        url_name="pages:provision_add",
        done="Provision added.",
        anchor="provisions",
    )


@editor_required(ADD_RELATION)
@require_http_methods(["GET", "POST"])
def relation_add(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    form = RelationForm(request.POST or None, agreement=agreement)
    return _part_view(
        request,
        agreement,
        form,
        form.save,
        title="Relate to another agreement",
        url_name="pages:relation_add",
        done="Relation added.",
        anchor="related",
    )


@editor_required(CHANGE_AGREEMENT)
@require_http_methods(["GET", "POST"])
def source_add(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = _agreement(slug)
    form = AgreementSourceForm(request.POST or None)
    return _part_view(
        request,
        agreement,
        form,
        lambda: form.save(agreement=agreement, user=request.user),
        title="Cite a source for the agreement",
        url_name="pages:source_add",
        done="Source added.",
        anchor="sources",
    )


@editor_required(CHANGE_AGREEMENT)
@require_http_methods(["GET", "POST"])
def subjects_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """The agreement's subjects, as one list of names (agreements.services.agreement_subjects_set)."""
    agreement = _agreement(slug)
    form = AgreementSubjectsForm(request.POST or None, agreement=agreement)
    title = "Subjects"
    if request.method == "POST" and form.is_valid():
        try:
            changed = form.save()
        except ConflictError:
            form.add_error(None, STALE_PART_MESSAGE)
            return _render_part(request, agreement, form, title, "pages:subjects_edit", status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, "Subjects saved." if changed else "The subjects are as they were."
            )
            return redirect(f"{reverse('pages:agreement_edit', args=[agreement.slug])}#facts")
    return _render_part(request, agreement, form, title, "pages:subjects_edit")


# Correcting and removing parts ------------------------------------------------------------------
#
# Each form carries the agreement's version it was loaded with; when someone else changed the
# agreement in between, the service refuses (ConflictError) and the editor sees the form again
# with a message to reload, rather than overwriting what they did not see.

STALE_PART_MESSAGE = (
    "Someone else changed this agreement since you opened the page; nothing was saved. "
    "Open the edit page again to see their change, then redo yours."
)


def _part_edit(
    request: HttpRequest,
    agreement: Agreement,
    form: Any,
    *,
    title: str,
    url_name: str,
    pk: int,
    done: str,
    anchor: str,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except ConflictError:
            form.add_error(None, STALE_PART_MESSAGE)
            return _render_part(request, agreement, form, title, url_name, pk=pk, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(f"{reverse('pages:agreement_edit', args=[agreement.slug])}#{anchor}")
    return _render_part(request, agreement, form, title, url_name, pk=pk)


def _part_remove(
    request: HttpRequest,
    agreement: Agreement,
    remove: Callable[..., Any],
    *,
    what: str,
    done: str,
    anchor: str,
) -> HttpResponse:
    """GET: the confirm page, saying what goes (how the remove link works without JavaScript;
    with it, pages.js asks in a dialog and posts directly). POST: remove it."""
    if request.method == "GET":
        seen = _int_or_none(request.GET.get("expected_version"))
        return render(
            request,
            "editing/remove_confirm.html",
            {
                "a": agreement,
                "what": what,
                "action": request.path,
                # The version the edit page showed, so a change made since is still a conflict.
                "expected_version": agreement.version if seen is None else seen,
                "cancel_url": f"{reverse('pages:agreement_edit', args=[agreement.slug])}#{anchor}",
            },
        )
    try:
        remove(expected_version=_posted_version(request))
    except ConflictError:
        messages.error(request, STALE_PART_MESSAGE)
    else:
        messages.success(request, done)
    return redirect(f"{reverse('pages:agreement_edit', args=[agreement.slug])}#{anchor}")


@editor_required(CHANGE_SIGNATORY)
@require_http_methods(["GET", "POST"])
def signatory_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    signatory = get_object_or_404(
        Signatory.objects.select_related("party", "agreement"), pk=pk, agreement=agreement
    )
    form = SignatoryEditForm(
        request.POST or None, signatory=signatory, party_codes=_party_codes(agreement)
    )
    return _part_edit(
        request,
        agreement,
        form,
        title=f"Correct a signatory: {signatory.name}",
        url_name="pages:signatory_edit",
        pk=pk,
        done="Signatory corrected.",
        anchor="parts",
    )


@editor_required(DELETE_SIGNATORY)
@require_http_methods(["GET", "POST"])
def signatory_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    signatory = get_object_or_404(
        Signatory.objects.select_related("party"), pk=pk, agreement=agreement
    )
    return _part_remove(
        request,
        agreement,
        lambda expected_version: parts.signatory_remove(
            signatory=signatory, expected_version_of_agreement=expected_version
        ),
        what=f"the signatory {signatory}",
        done=f"Signatory removed: {signatory.name}. The history can restore it.",
        anchor="parts",
    )


@editor_required(CHANGE_PROVISION)
@require_http_methods(["GET", "POST"])
def provision_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    provision = get_object_or_404(
        Provision.objects.select_related("agreement"), pk=pk, agreement=agreement
    )
    form = ProvisionEditForm(request.POST or None, provision=provision)
    return _part_edit(
        request,
        agreement,
        form,
        title=f"Correct a provision: {provision.label or provision.get_category_display()}",
        url_name="pages:provision_edit",
        pk=pk,
        done="Provision corrected.",
        anchor="parts",
    )


@editor_required(DELETE_PROVISION)
@require_http_methods(["GET", "POST"])
def provision_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    provision = get_object_or_404(Provision, pk=pk, agreement=agreement)
    return _part_remove(
        request,
        agreement,
        lambda expected_version: parts.provision_remove(
            provision=provision, expected_version_of_agreement=expected_version
        ),
        what=f"the provision {_provision_summary(provision)}",
        done="Provision removed. The history can restore it.",
        anchor="parts",
    )


@editor_required(CHANGE_RELATION)
@require_http_methods(["GET", "POST"])
def relation_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    relation = get_object_or_404(
        Relation.objects.select_related("from_agreement", "to_agreement"),
        pk=pk,
        from_agreement=agreement,
    )
    form = RelationEditForm(request.POST or None, relation=relation)
    other = relation.to_agreement.short_name or relation.to_agreement.title
    return _part_edit(
        request,
        agreement,
        form,
        title=f"Correct a relation to {other}",
        url_name="pages:relation_edit",
        pk=pk,
        done="Relation corrected.",
        anchor="parts-relations",
    )


@editor_required(DELETE_RELATION)
@require_http_methods(["GET", "POST"])
def relation_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    relation = get_object_or_404(
        Relation.objects.select_related("to_agreement"), pk=pk, from_agreement=agreement
    )
    return _part_remove(
        request,
        agreement,
        lambda expected_version: parts.relation_remove(
            relation=relation, expected_version_of_agreement=expected_version
        ),
        what=f"the relation: {_relation_summary(relation)}",
        done="Relation removed. The history can restore it.",
        anchor="parts",
    )


@editor_required(CHANGE_AGREEMENT)
@require_http_methods(["GET", "POST"])
def source_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    agreement = _agreement(slug)
    source = get_object_or_404(agreement.sources.all(), pk=pk)
    return _part_remove(
        request,
        agreement,
        lambda expected_version: parts.agreement_source_remove(
            agreement=agreement, source=source, expected_version=expected_version
        ),
        what=f"the citation of {source} (the source itself stays recorded)",
        done=f"No longer cited for the agreement: {source}. The history can restore it.",
        anchor="parts",
    )


# A new agreement --------------------------------------------------------------------------------


@editor_required(ADD_AGREEMENT)
@require_http_methods(["GET", "POST"])
def agreement_create_view(request: HttpRequest) -> HttpResponse:
    """Two passes, both without JavaScript: the facts and the parties first; then each party's
    procedure, prefilled from its default, to adjust before creating."""
    form = AgreementCreateForm(request.POST or None)
    procedure_form = None
    duplicates = None
    if request.method == "POST" and form.is_valid():
        codes = form.cleaned_data["parties"]
        parties = {p.code: p for p in Party.objects.filter(code__in=codes)}
        procedures = {code: procedure_for_party(party=parties[code]) for code in codes}
        with_procedures = request.POST.get("stage") == "procedure"
        procedure_form = ProcedureForm(
            request.POST if with_procedures else None, procedures=procedures
        )
        if with_procedures and procedure_form.is_valid():
            steps, legislative = procedure_form.steps()
            try:
                agreement = agreement_create(
                    slug=form.cleaned_data["slug"],
                    party_codes=codes,
                    subjects=form.cleaned_data["subjects"],
                    steps=steps,
                    legislative_approval=legislative,
                    user=request.user,
                    confirm_not_duplicate=request.POST.get("confirm_not_duplicate") == "yes",
                    **form.facts(),
                )
            except DuplicateSuspected as exc:
                # Not a form error: the form is right, and the editor decides (the warning's
                # button posts the same form again with the confirmation).
                duplicates = exc.candidates
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Agreement created.")
                return redirect(agreement.get_absolute_url())
    return render(
        request,
        "editing/agreement_create.html",
        {"form": form, "procedure_form": procedure_form, "duplicates": duplicates},
        status=409 if duplicates else 400 if form.is_bound and form.errors else 200,
    )


# Merging a duplicate ----------------------------------------------------------------------------


@editor_required(CHANGE_AGREEMENT, DELETE_AGREEMENT)
@require_http_methods(["GET", "POST"])
def agreement_merge_into(request: HttpRequest, slug: str) -> HttpResponse:
    """Merge this agreement (a duplicate) into another: first pick the one that stays, among
    the agreements with the same parties; then see what will move, what is the same fact
    twice and what conflicts, and confirm with a reason. The form carries both agreements'
    versions, so a change to either since the page was shown stops the merge."""
    duplicate = _agreement(slug)
    into = request.POST.get("into") or request.GET.get("into") or ""
    survivor = Agreement.objects.filter(slug=into).exclude(pk=duplicate.pk).first()
    errors: list[str] = []
    status = 200
    if survivor is not None and request.method == "POST":
        try:
            agreement_merge_service(
                survivor=survivor,
                duplicate=duplicate,
                user=request.user,
                reason=request.POST.get("reason", ""),
                expected_version=_int_or_none(request.POST.get("survivor_version")),
                expected_duplicate_version=_int_or_none(request.POST.get("duplicate_version")),
            )
        except ConflictError:
            errors = [
                "One of the two agreements was changed since this page was shown: check "
                "what will move again, then confirm."
            ]
            status = 409
            duplicate.refresh_from_db()
            survivor.refresh_from_db()
        except MergeRefused as exc:
            errors = [m for messages_ in exc.message_dict.values() for m in messages_]
            status = 400
        else:
            messages.success(
                request,
                f"Merged '{duplicate.slug}' into this agreement; its address now leads here.",
            )
            return redirect(survivor.get_absolute_url())
    elif request.method == "POST":
        errors, status = ["Choose the agreement that stays."], 400
    parties = [p.party for p in duplicate.participations.all()]
    choices = (
        Agreement.objects.filter(pk__in=agreements_with_parties(parties=parties))
        .exclude(pk=duplicate.pk)
        .order_by("-signed_on", "title")
    )
    return render(
        request,
        "editing/agreement_merge_into.html",
        {
            "a": duplicate,
            "survivor": survivor,
            "choices": choices,
            "plan": merge_plan(survivor=survivor, duplicate=duplicate) if survivor else None,
            "errors": errors,
            "reason": request.POST.get("reason", ""),
        },
        status=status,
    )


# Conflicts --------------------------------------------------------------------------------------
#
# A stale form (someone saved since it was loaded) is merged, field by field, against the version
# it was loaded from (web.conflicts): what only they changed stays theirs, what only the
# editor changed is applied, and a field both changed differently waits for the editor's pick.
# Nothing is written until the editor presses "Apply my changes", and then only if nobody saved
# again meanwhile (else the page is shown afresh, merged against the newest version).

MERGED_INVALID = (
    "Your changes, merged with theirs, do not pass the checks below. Correct them and save again."
)
KEPT_THEIRS = "Kept their version; your change was discarded."


def _latest_change(instance: Any) -> Any:
    return (
        instance.history.select_related("history_user")
        .order_by("-history_date", "-history_id")
        .first()
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


def _render_conflict(
    request: HttpRequest,
    conflict: conflicts.Conflict,
    *,
    agreement: Agreement,
    kind: str,
    what: str,
    apply_url: str,
    keep_url: str,
    picks: conflicts.PicksForm | None = None,
    again: bool = False,
    status: int = 409,
) -> HttpResponse:
    latest = _latest_change(conflict.stored)
    picks = picks or conflict.picks_form()
    return render(
        request,
        "editing/conflict.html",
        {
            "a": agreement,
            "what": what,
            "conflict": conflict,
            "rows": conflict.rows(picks),
            "picks": picks,
            "latest": latest,
            "same_user": latest is not None and latest.history_user_id == request.user.pk,
            "again": again,
            "their_changes": history.changes_since(
                kind=kind, instance=conflict.stored, version=conflict.base_version
            ),
            "apply_url": apply_url,
            "keep_url": keep_url,
            "next": _back_to(request, ""),
        },
        status=status,
    )


def _merge_apply(
    request: HttpRequest,
    *,
    build: Callable[[], conflicts.Conflict],
    show_conflict: Callable[..., HttpResponse],
    merged_form: Callable[[dict[str, str]], Any],
    save: Callable[[Any, int], Any],
    show_form: Callable[[Any], HttpResponse],
    done_url: str,
) -> HttpResponse:
    """The conflict page's "Apply my changes": merge again from what it posts (the editor's
    values, the base version, the version it showed, the picks), and save the result through
    the form and its service with the version the page showed, so that the service's version
    check still guards the write. Saved again since the page was shown: a fresh conflict page.
    A pick missing: the page again with the error (400). The merged result breaking a rule:
    the ordinary form with its errors and the merged values (400). Nothing written in those."""
    conflict = build()
    seen = _int_or_none(request.POST.get("seen_version"))
    if seen is None:  # not a post the conflict page makes: show it, to start from
        return show_conflict(conflict, status=400)
    if seen != conflict.seen_version:
        return show_conflict(conflict, again=True)
    picks = conflict.picks_form(request.POST)
    if not picks.is_valid():
        return show_conflict(conflict, picks=picks, status=400)
    chosen = conflict.sides(picks.picks())
    if Side.MINE not in chosen.values():
        messages.info(request, "Nothing to apply: their version already holds what you chose.")
        return redirect(done_url)
    form = merged_form(conflict.merged_data(chosen))
    if form.is_valid():
        try:
            save(form, conflict.seen_version)
        except ConflictError:
            return show_conflict(build(), again=True)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your changes are saved, merged with theirs.")
            return redirect(done_url)
    form.add_error(None, MERGED_INVALID)
    return show_form(form)


def _step_conflict(
    request: HttpRequest, step: RatificationStep, form: StepRecordForm
) -> HttpResponse:
    """`form` was loaded before someone else recorded this step: merge and show (409)."""
    conflict = conflicts.step_conflict(step=step, form=form, base_version=_posted_version(request))
    return _show_step_conflict(request, conflict)


def _show_step_conflict(
    request: HttpRequest, conflict: conflicts.Conflict, **kwargs: Any
) -> HttpResponse:
    step = conflict.stored
    return _render_conflict(
        request,
        conflict,
        agreement=step.participation.agreement,
        kind="step",
        what=f"{step.participation.party.code} {_step_name(step)}",
        apply_url=reverse("pages:step_merge", args=[step.pk]),
        keep_url=reverse("pages:step_keep_theirs", args=[step.pk]),
        **kwargs,
    )


def _step_for_recording(pk: int) -> RatificationStep:
    return get_object_or_404(
        RatificationStep.objects.select_related(
            "participation__agreement", "participation__party", "source"
        ).prefetch_related("participation__agreement__participations__party"),
        pk=pk,
    )


def _step_done_url(request: HttpRequest, step: RatificationStep) -> str:
    """Back where the editor came from (`next`: the edit page), else the agreement's page, at
    the step just recorded (both pages give each step the anchor `step-<id>`), so that on a
    phone they land on what they recorded, not at the top of a long page."""
    agreement = step.participation.agreement
    back = _back_to(request, agreement.get_absolute_url())
    path = back.split("#", 1)[0]
    at_step = (agreement.get_absolute_url(), reverse("pages:agreement_edit", args=[agreement.slug]))
    return f"{path}#step-{step.pk}" if path in at_step else back


@editor_required(CHANGE_STEP)
@require_POST
def step_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """The step's conflict page, "Apply my changes" (see _merge_apply)."""
    step = _step_for_recording(pk)
    base_version = _int_or_none(request.POST.get("base_version"))

    def build() -> conflicts.Conflict:
        step.refresh_from_db()
        mine = StepRecordForm(request.POST, step=step)
        return conflicts.step_conflict(step=step, form=mine, base_version=base_version)

    return _merge_apply(
        request,
        build=build,
        show_conflict=lambda conflict, **kw: _show_step_conflict(request, conflict, **kw),
        merged_form=lambda data: StepRecordForm(data, step=step),
        save=lambda form, seen: form.save(user=request.user, expected_version=seen),
        show_form=lambda form: _render_step(request, step, form, status=400),
        done_url=_step_done_url(request, step),
    )


@editor_required(CHANGE_STEP)
@require_POST
def step_keep_theirs(request: HttpRequest, pk: int) -> HttpResponse:
    """The step's conflict page, "Keep theirs": nothing to write, only to say so."""
    step = _step_for_recording(pk)
    messages.info(request, KEPT_THEIRS)
    return redirect(_step_done_url(request, step))


def _agreement_conflict(
    request: HttpRequest, agreement: Agreement, form: AgreementFactsForm
) -> HttpResponse:
    """`form` was loaded before someone else saved the agreement: merge and show (409)."""
    conflict = conflicts.facts_conflict(
        agreement=agreement, form=form, base_version=_posted_version(request)
    )
    return _show_facts_conflict(request, conflict)


def _show_facts_conflict(
    request: HttpRequest, conflict: conflicts.Conflict, **kwargs: Any
) -> HttpResponse:
    agreement = conflict.stored
    return _render_conflict(
        request,
        conflict,
        agreement=agreement,
        kind="agreement",
        what="the agreement's facts",
        apply_url=reverse("pages:agreement_merge", args=[agreement.slug]),
        keep_url=reverse("pages:agreement_keep_theirs", args=[agreement.slug]),
        **kwargs,
    )


@editor_required(CHANGE_AGREEMENT)
@require_POST
def agreement_merge(request: HttpRequest, slug: str) -> HttpResponse:
    """The facts' conflict page, "Apply my changes" (see _merge_apply)."""
    agreement = _agreement(slug)
    base_version = _int_or_none(request.POST.get("base_version"))

    def build() -> conflicts.Conflict:
        agreement.refresh_from_db()
        mine = AgreementFactsForm(request.POST, instance=agreement)
        return conflicts.facts_conflict(agreement=agreement, form=mine, base_version=base_version)

    return _merge_apply(
        request,
        build=build,
        show_conflict=lambda conflict, **kw: _show_facts_conflict(request, conflict, **kw),
        merged_form=lambda data: AgreementFactsForm(data, instance=agreement),
        save=lambda form, seen: form.save(expected_version=seen),
        show_form=lambda form: render(
            request, "editing/agreement_facts.html", {"a": agreement, "form": form}, status=400
        ),
        done_url=agreement.get_absolute_url(),
    )


@editor_required(CHANGE_AGREEMENT)
@require_POST
def agreement_keep_theirs(request: HttpRequest, slug: str) -> HttpResponse:
    """The facts' conflict page, "Keep theirs": nothing to write, only to say so."""
    messages.info(request, KEPT_THEIRS)
    return redirect(_agreement(slug).get_absolute_url())


# History ----------------------------------------------------------------------------------------


def agreement_history(request: HttpRequest, slug: str) -> HttpResponse:
    """Who changed what and when, on which source: the agreement and all its parts, merged."""
    agreement = _agreement(slug)
    page, entries = history.history_page(agreement=agreement, page_number=request.GET.get("page"))
    can_revert = request.user.has_perms([CHANGE_AGREEMENT, CHANGE_STEP])
    step_versions = {}
    if can_revert:
        step_ids = {e.record.id for e in entries if e.kind == "step" and e.revertable}
        step_versions = dict(
            RatificationStep.objects.filter(pk__in=step_ids).values_list("pk", "version")
        )
    # A revert form carries the version it checks: the step's, else the agreement's (the
    # facts, and the parts, whose writes move the agreement's version on).
    rows = [
        (
            e,
            step_versions.get(e.record.id)
            if e.kind == "step"
            else agreement.version
            if can_revert
            else None,
        )
        for e in entries
    ]
    return render(
        request,
        "editing/history.html",
        {
            "a": agreement,
            "page": page,
            "rows": rows,
            "can_revert": can_revert,
            # Each merge in full: the history entry's change reason holds 100 characters.
            "merges": list(agreement.merges.select_related("merged_by")),
        },
    )


# Beyond the revert's own permissions: restoring a removed part adds it again.
REVERT_NEEDS: dict[str, tuple[str, ...]] = {
    "agreement": (),
    "step": (),
    "signatory": (ADD_SIGNATORY,),
    "provision": (ADD_PROVISION,),
    "relation": (ADD_RELATION,),
}


@editor_required(CHANGE_AGREEMENT, CHANGE_STEP)
@require_POST
def history_revert(request: HttpRequest, slug: str, kind: str, history_id: int) -> HttpResponse:
    agreement = _agreement(slug)
    if kind not in REVERT_NEEDS:
        raise Http404("Only changes to the agreement, its steps and its parts can be reverted.")
    if not request.user.has_perms(REVERT_NEEDS[kind]):
        raise PermissionDenied("Restoring this needs the editor role.")
    back = reverse("pages:agreement_history", args=[agreement.slug])
    try:
        history.change_revert(
            agreement=agreement,
            kind=kind,
            history_id=history_id,
            expected_version=_posted_version(request),
            user=request.user,
        )
    except history.RevertRefused as exc:
        messages.error(request, str(exc))
    except ConflictError:
        messages.error(
            request,
            "Not reverted: it was changed again since you opened this page. Look at the newest "
            "change below, then revert again if you still want to.",
        )
    except ValidationError as exc:
        text = "; ".join(m for msgs in exc.message_dict.values() for m in msgs)
        messages.error(request, f"Not reverted: {text}")
    else:
        messages.success(request, f"Change #{history_id} reverted; the revert is recorded below.")
    return redirect(back)


# Import and export ------------------------------------------------------------------------------


@editor_required(ADD_AGREEMENT, CHANGE_AGREEMENT, CHANGE_STEP, ADD_STEP)
@require_http_methods(["GET", "POST"])
def import_agreements(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = transfer.rows_from_bytes(upload.read(), name=upload.name)
        except transfer.FileRefused as exc:
            form.add_error("file", str(exc))
        else:
            report = transfer.agreements_import(
                rows=rows, dry_run=form.cleaned_data["dry_run"], user=request.user
            )
    return render(
        request,
        "editing/import.html",
        {"form": form, "report": report},
        status=400 if (form.is_bound and form.errors) or (report and report.failed) else 200,
    )


@editor_required(VIEW_AGREEMENT)
def export_agreements(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "json")
    if fmt not in ("json", "csv"):
        raise Http404("Export as json or csv.")
    content = transfer.agreements_export(fmt=fmt)
    response = HttpResponse(
        content,
        content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="agreements.{fmt}"'
    return response
