"""The follow button's form: what to follow, and where to go back to."""

from __future__ import annotations

from django import forms

from agreements.models import Agreement
from parties.models import Party

from .models import Follow


class FollowForm(forms.Form):
    kind = forms.ChoiceField(choices=Follow.Kind.choices)
    agreement = forms.SlugField(required=False, max_length=200)
    party = forms.CharField(required=False, max_length=20)
    query = forms.CharField(required=False, max_length=2000, strip=False)

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        if kind == Follow.Kind.AGREEMENT:
            data["agreement"] = Agreement.objects.filter(slug=data.get("agreement")).first()
            if data["agreement"] is None:
                raise forms.ValidationError("There is no such agreement to follow.")
        elif kind == Follow.Kind.PARTY:
            code = (data.get("party") or "").upper()
            data["party"] = Party.objects.filter(code=code).first()
            if data["party"] is None:
                raise forms.ValidationError("There is no such party to follow.")
        return data
