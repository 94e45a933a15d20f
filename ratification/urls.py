"""Addresses of the analyst's pages, all under the `pages` namespace (e.g. `pages:agreement_detail`)."""

from django.urls import path

from . import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("agreements/", views.agreement_list, name="agreement_list"),
    path("agreements/<slug:slug>/", views.agreement_detail, name="agreement_detail"),
    path("parties/", views.party_list, name="party_list"),
    path("parties/<str:code>/", views.party_detail, name="party_detail"),
    path("glossary/", views.glossary, name="glossary"),
]
