"""URL map: the admin, the pages, the API (v1) and its schema and docs, the feeds, follows."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from notify import views as notify_views
from notify.feeds import StatusChangeFeed

admin.site.site_header = "Pact Tracker administration"
admin.site.site_title = "Pact Tracker"

urlpatterns = [
    # Follows moved from the accounts app to notify; old admin bookmarks still land.
    re_path(
        r"^admin/accounts/(?P<rest>(follow|follownotification)/.*)$",
        RedirectView.as_view(url="/admin/notify/%(rest)s", permanent=True, query_string=True),
        name="admin_moved",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("pacttracker.api")),
    path("accounts/", include("django.contrib.auth.urls")),  # sign-in pages: templates/registration
    path("feeds/status-changes.atom", StatusChangeFeed(), name="feed_status_changes"),
    path("feeds/agreements/<slug:slug>.atom", StatusChangeFeed(), name="feed_agreement"),
    path("feeds/parties/<str:code>.atom", StatusChangeFeed(), name="feed_party"),
    # iCalendar feeds (notify/calendars.py); before the pages, whose addresses they extend.
    path("agreements/calendar.ics", notify_views.calendar_search, name="feed_calendar_search"),
    path(
        "agreements/<slug:slug>/calendar.ics",
        notify_views.calendar_agreement,
        name="feed_calendar_agreement",
    ),
    path(
        "parties/<str:code>/agreements.ics",
        notify_views.calendar_party,
        name="feed_calendar_party",
    ),
    path("follows/", include("notify.urls")),  # follow agreements, parties, searches
    path("", include("web.urls")),
]

# An address that matches no route: JSON under /api/, the 404 page elsewhere.
handler404 = "pacttracker.errors.page_not_found"
# Any uncaught exception: 503 for a database outage, else a plain 500; never a traceback.
handler500 = "pacttracker.errors.server_error"
