"""The parties app's own routes in the one API router (pacttracker/api.py registers them):
legislative calendars and constitutional clock rules. Parties themselves are served from ratification.api (see there)."""

from .calendar_views import LegislatureViewSet, SessionViewSet, SittingDayViewSet
from .clock_views import ClockRuleViewSet

# (prefix under /api/v1/, viewset, basename of the URL names `api:<basename>-<action>`)
routes = [
    ("legislatures", LegislatureViewSet, "legislature"),
    ("sessions", SessionViewSet, "session"),
    ("sitting-days", SittingDayViewSet, "sittingday"),
    ("clock-rules", ClockRuleViewSet, "clockrule"),
]
