"""The notify app's routes in the one API router (pacttracker/api.py registers them)."""

from .views import WebhookViewSet

# (prefix under /api/v1/, viewset, basename of the URL names `api:<basename>-<action>`)
routes = [("webhooks", WebhookViewSet, "webhook")]
