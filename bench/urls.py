"""The project's URLs plus `/bench/bare/`: a Django view returning a constant JSON object.

It goes through the same middleware as every other page, so it is the ceiling a request can
reach on this machine; each endpoint's throughput is reported as a fraction of it. It exists only
here (bench.settings), never in production URLs.
"""

from django.http import JsonResponse
from django.urls import include, path

BARE = {"status": "ok", "service": "pact-tracker", "items": [1, 2, 3]}


def bare(request):
    return JsonResponse(BARE)


urlpatterns = [
    path("bench/bare/", bare, name="bench_bare"),
    path("", include("pacttracker.urls")),
]
