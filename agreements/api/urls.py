"""The agreements app's routes in the one API router (pacttracker/api.py registers them)."""

from .statements import ObjectionViewSet, StatementViewSet
from .views import ProvisionViewSet, RelationViewSet, SourceViewSet, SubjectViewSet

# (prefix under /api/v1/, viewset, basename of the URL names `api:<basename>-<action>`)
routes = [
    ("provisions", ProvisionViewSet, "provision"),
    ("sources", SourceViewSet, "source"),
    ("relations", RelationViewSet, "relation"),
    ("subjects", SubjectViewSet, "subject"),
    ("statements", StatementViewSet, "statement"),
    ("objections", ObjectionViewSet, "objection"),
]
