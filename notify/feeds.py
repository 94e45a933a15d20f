"""Atom feeds of status changes: all, per agreement, per party, or filtered by query string.

`/feeds/status-changes.atom?agreement=<slug>&party=<code>&kind=<kind>` takes the same filters as
the pages, so an analyst can subscribe to exactly the list they are looking at.
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from agreements.models import Agreement
from parties.models import Party
from ratification.models import StatusChange

FEED_SIZE = 50


class StatusChangeFeed(Feed):
    feed_type = Atom1Feed
    subtitle = "Signatures, ratification steps, entries into force and other changes."

    def get_object(self, request: HttpRequest, **kwargs: str) -> dict[str, object]:
        filters: dict[str, object] = {}
        slug = kwargs.get("slug") or request.GET.get("agreement")
        code = kwargs.get("code") or request.GET.get("party")
        kind = request.GET.get("kind")
        if slug:
            filters["agreement"] = get_object_or_404(Agreement, slug=slug)
        if code:
            filters["party"] = get_object_or_404(Party, code=code.upper())
        if kind:
            if kind not in StatusChange.Kind.values:
                raise Http404(f"Unknown change kind {kind!r}.")
            filters["kind"] = kind
        return filters

    def link(self, obj: dict[str, object]) -> str:
        if "agreement" in obj:
            return reverse("pages:agreement_detail", args=[obj["agreement"].slug])
        if "party" in obj:
            return reverse("pages:party_detail", args=[obj["party"].code])
        return reverse("pages:home")

    def title(self, obj: dict[str, object]) -> str:
        about = [str(obj[k]) for k in ("agreement", "party") if k in obj]
        return "Pact Tracker: status changes" + (f" — {', '.join(about)}" if about else "")

    def items(self, obj: dict[str, object]) -> QuerySet[StatusChange]:
        changes = StatusChange.objects.select_related(
            "agreement", "party", "corrects", "corrected_by"
        ).order_by("-detected_at", "-id")
        if "agreement" in obj:
            changes = changes.filter(agreement=obj["agreement"])
        if "party" in obj:
            # Changes of every agreement the party is party to, not only those naming it.
            changes = changes.filter(agreement__participations__party=obj["party"])
        if "kind" in obj:
            changes = changes.filter(kind=obj["kind"])
        return changes[:FEED_SIZE]

    def item_title(self, item: StatusChange) -> str:
        if item.superseded_as:
            return f"[{item.superseded_as.capitalize()} since] {item.message}"
        return item.message

    def item_description(self, item: StatusChange) -> str:
        effective = f" Effective {item.effective_on.isoformat()}." if item.effective_on else ""
        text = f"{item.get_kind_display()}: {item.message}{effective}"
        if item.corrects is not None:
            # An entry read on its own (a reader may have the earlier one long gone) says what
            # it supersedes.
            text += f" This corrects an earlier entry: “{item.corrects.message}”"
        later = getattr(item, "corrected_by", None)
        if later is not None:
            text += f" {item.superseded_as.capitalize()} since: “{later.message}”"
        return text

    def item_link(self, item: StatusChange) -> str:
        return reverse("pages:agreement_detail", args=[item.agreement.slug]) + f"#change-{item.pk}"

    def item_guid(self, item: StatusChange) -> str:
        return f"pacttracker:status-change:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: StatusChange):
        return item.detected_at

    def item_updateddate(self, item: StatusChange):
        # A superseded entry is updated when its correction is recorded, so that readers that
        # keep entries show the new mark.
        later = getattr(item, "corrected_by", None)
        return later.detected_at if later is not None else item.detected_at

    def item_categories(self, item: StatusChange) -> list[str]:
        return [item.kind, "superseded"] if getattr(item, "corrected_by", None) else [item.kind]
