"""`{% follow_button "agreement" a %}`: the follow / unfollow button on the analyst's pages.

The pages (web) show it through this tag; the tag is this app's, next to the follows it reads. It costs one query for a signed-in user and none for
an anonymous one, who sees a link to sign in instead.
"""

from __future__ import annotations

from django import template
from django.core.exceptions import ValidationError

from ..follows import follow_find, search_query_normalize
from ..models import Follow

register = template.Library()

_NOUNS = {
    Follow.Kind.AGREEMENT: "this agreement",
    Follow.Kind.PARTY: "this party",
    Follow.Kind.SEARCH: "this search",
}


@register.inclusion_tag("accounts/_follow_button.html", takes_context=True)
def follow_button(context: template.Context, kind: str, target: object) -> dict:
    """`target` is the Agreement, the Party, or the search's QueryDict (`request.GET`)."""
    request = context["request"]
    user = request.user
    values = {"agreement": "", "party": "", "query": ""}
    lookup: dict[str, object] = {}
    if kind == Follow.Kind.AGREEMENT:
        values["agreement"] = target.slug
        lookup["agreement"] = target
    elif kind == Follow.Kind.PARTY:
        values["party"] = target.code
        lookup["party"] = target
    else:
        try:
            values["query"] = search_query_normalize(target)
        except ValidationError:
            return {"hidden": True}  # a search too long to store cannot be followed
        lookup["query"] = values["query"]
    return {
        "signed_in": user.is_authenticated,
        "follow": follow_find(user=user, kind=kind, **lookup),
        "kind": kind,
        "noun": "all agreements" if kind == "search" and not values["query"] else _NOUNS[kind],
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        **values,
    }
