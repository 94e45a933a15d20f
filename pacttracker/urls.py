"""URL map: the admin, the pages, the API (v1) and its schema and docs, the feeds, follows."""

from django.contrib import admin
from django.urls import include, path

from ratification.feeds import StatusChangeFeed

admin.site.site_header = "Pact Tracker administration"
admin.site.site_title = "Pact Tracker"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("pacttracker.api")),
    path("accounts/", include("django.contrib.auth.urls")),  # sign-in pages: templates/registration
    path("feeds/status-changes.atom", StatusChangeFeed(), name="feed_status_changes"),
    path("feeds/agreements/<slug:slug>.atom", StatusChangeFeed(), name="feed_agreement"),
    path("feeds/parties/<str:code>.atom", StatusChangeFeed(), name="feed_party"),
    path("follows/", include("accounts.urls")),  # follow agreements, parties, searches
    path("", include("ratification.urls")),
]

# Any uncaught exception: 503 for a database outage, else a plain 500; never a traceback.
handler500 = "pacttracker.errors.server_error"
