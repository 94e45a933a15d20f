"""Follows: the list of what a user follows, follow, unfollow. The `accounts` namespace
(`accounts:follow_list`, …) is the one these pages had before they moved here; it stays.
"""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.follow_list, name="follow_list"),
    path("new/", views.follow_create, name="follow_create"),
    path("<int:pk>/unfollow/", views.follow_delete, name="follow_delete"),
]
