"""The ratification app's routes in the one API router (pacttracker/api.py registers them).

Agreements and parties are served from here, not from their own apps, because their
representations carry each party's steps and the derived status (see views.py).
"""

from django.urls import path

from .clock_views import ClockExtensionViewSet
from .views import (
    AgreementViewSet,
    PartyViewSet,
    StatusChangeViewSet,
    StepViewSet,
    VocabulariesView,
)

# (prefix under /api/v1/, viewset, basename of the URL names `api:<basename>-<action>`)
routes = [
    ("agreements", AgreementViewSet, "agreement"),
    ("steps", StepViewSet, "step"),
    ("parties", PartyViewSet, "party"),
    ("status-changes", StatusChangeViewSet, "statuschange"),
    ("clock-extensions", ClockExtensionViewSet, "clockextension"),
]
urlpatterns = [path("vocabularies/", VocabulariesView.as_view(), name="vocabularies")]
