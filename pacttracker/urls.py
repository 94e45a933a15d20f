"""URL map: the admin, the pages, the API (v1) and its schema and docs, the feeds."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Pact Tracker administration"
admin.site.site_title = "Pact Tracker"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("ratification.urls")),
]
