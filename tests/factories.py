"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agreements.models import Agreement, Provision, Source
from parties.models import Party


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class EditorFactory(UserFactory):
    @factory.post_generation
    def editor_group(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.groups.add(Group.objects.get(name="editors"))


class ViewerFactory(UserFactory):
    @factory.post_generation
    def viewer_group(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.groups.add(Group.objects.get(name="viewers"))


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    title = factory.Sequence(lambda n: f"Press release {n}")
    url = factory.Sequence(lambda n: f"https://example.org/press/{n}")
    publisher = "Ministry of Foreign Affairs"
    published_on = dt.date(2025, 1, 15)


class AgreementFactory(factory.django.DjangoModelFactory):
    """A bare agreement row. Use `ratification.services.agreement_create` (or the
    `make_agreement` fixture) for one with parties and steps."""

    class Meta:
        model = Agreement

    slug = factory.Sequence(lambda n: f"agreement-{n}")
    title = factory.Sequence(lambda n: f"Agreement number {n}")
    short_name = "AG"
    kind = Agreement.Kind.BILATERAL


class ProvisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provision

    agreement = factory.SubFactory(AgreementFactory)
    category = "logistics_support"
    text = "Each party may supply fuel to the other's forces."


def party(code: str) -> Party:
    """Parties come from the reference-data migration; look them up rather than create them."""
    return Party.objects.get(code=code)
