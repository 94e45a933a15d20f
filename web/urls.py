"""Addresses of the analyst's pages, all under the `pages` namespace (e.g. `pages:agreement_detail`)."""

from django.urls import path

from . import calendars, editing, gaps, participants, statements, views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/<slug:slug>/", views.agreement_detail, name="agreement_detail"),
    path(
        "agreements/<slug:slug>/participants.csv",
        participants.participants_csv,
        name="participants_csv",
    ),
    path("parties/", views.party_list, name="party_list"),
    path("parties/<str:code>/", views.party_detail, name="party_detail"),
    path("parties/<str:code>/calendar/", calendars.party_calendar, name="party_calendar"),
    path("glossary/", views.glossary, name="glossary"),
]

# Editor pages (web/editing.py): anonymous visitors are sent to sign in, others need
# the editor role.
urlpatterns += [
    path("agreements/<slug:slug>/edit/", editing.agreement_edit, name="agreement_edit"),
    # The conflict page's two buttons (web/editing.py, "Conflicts").
    path("agreements/<slug:slug>/edit/merge/", editing.agreement_merge, name="agreement_merge"),
    path(
        "agreements/<slug:slug>/edit/keep-theirs/",
        editing.agreement_keep_theirs,
        name="agreement_keep_theirs",
    ),
    path(
        "agreements/<slug:slug>/merge-into/",
        editing.agreement_merge_into,
        name="agreement_merge_into",
    ),
    path("agreements/<slug:slug>/edit/steps/add/", editing.step_add, name="step_add"),
    path(
        "agreements/<slug:slug>/edit/signatories/add/",
        editing.signatory_add,
        name="signatory_add",
    ),
    path(
        "agreements/<slug:slug>/edit/statements/add/",
        statements.statement_add_view,
        name="statement_add",
    ),
    path(
        "agreements/<slug:slug>/edit/statements/<int:pk>/",
        statements.statement_edit_view,
        name="statement_edit",
    ),
    path(
        "agreements/<slug:slug>/edit/statements/<int:pk>/objections/add/",
        statements.objection_add_view,
        name="objection_add",
    ),
    path(
        "agreements/<slug:slug>/edit/provisions/add/", editing.provision_add, name="provision_add"
    ),
    path("agreements/<slug:slug>/edit/relations/add/", editing.relation_add, name="relation_add"),
    path("agreements/<slug:slug>/edit/sources/add/", editing.source_add, name="source_add"),
    path("agreements/<slug:slug>/edit/subjects/", editing.subjects_edit, name="subjects_edit"),
    path(
        "agreements/<slug:slug>/edit/signatories/<int:pk>/",
        editing.signatory_edit,
        name="signatory_edit",
    ),
    path(
        "agreements/<slug:slug>/edit/signatories/<int:pk>/remove/",
        editing.signatory_remove,
        name="signatory_remove",
    ),
    path(
        "agreements/<slug:slug>/edit/provisions/<int:pk>/",
        editing.provision_edit,
        name="provision_edit",
    ),
    path(
        "agreements/<slug:slug>/edit/provisions/<int:pk>/remove/",
        editing.provision_remove,
        name="provision_remove",
    ),
    path(
        "agreements/<slug:slug>/edit/relations/<int:pk>/",
        editing.relation_edit,
        name="relation_edit",
    ),
    path(
        "agreements/<slug:slug>/edit/relations/<int:pk>/remove/",
        editing.relation_remove,
        name="relation_remove",
    ),
    path(
        "agreements/<slug:slug>/edit/sources/<int:pk>/remove/",
        editing.source_remove,
        name="source_remove",
    ),
    path("agreements/<slug:slug>/history/", editing.agreement_history, name="agreement_history"),
    path(
        "agreements/<slug:slug>/history/<str:kind>/<int:history_id>/revert/",
        editing.history_revert,
        name="history_revert",
    ),
    path("steps/<int:pk>/record/", editing.step_record, name="step_record"),
    path("steps/<int:pk>/remove/", editing.step_remove, name="step_remove"),
    path("steps/<int:pk>/record/merge/", editing.step_merge, name="step_merge"),
    path("steps/<int:pk>/record/keep-theirs/", editing.step_keep_theirs, name="step_keep_theirs"),
    path("new-agreement/", editing.agreement_create_view, name="agreement_create"),
    path(
        "calendars/<int:legislature_id>/sessions/add/",
        calendars.session_add,
        name="session_add",
    ),
    path("calendars/sessions/<int:pk>/", calendars.session_edit, name="session_edit"),
    path("calendars/sessions/<int:pk>/remove/", calendars.session_remove, name="session_remove"),
    path("gaps/", gaps.gaps, name="gaps"),
    path("gaps/<slug:code>/", gaps.gap_list, name="gap_list"),
    path("import/", editing.import_agreements, name="import"),
    path("export/", editing.export_agreements, name="export"),
]
