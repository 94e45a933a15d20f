"""Subjects and their aliases: one subject, however it is spelt.

A subject ('defence logistics') may have aliases: other spellings ('defense logistics') and
synonyms. Every write that names subjects resolves the names here (`subjects_resolve`), so input
by an alias maps to the subject and never creates a twin; the list filters resolve their values
the same way (`subject_slugs_canonical`). Names are compared by their slug, so case, spaces and
hyphens do not matter ('Defense  Logistics', 'defense-logistics').

Editors add aliases (`subject_alias_add`) and merge two subjects that turned out to be one
(`subject_merge`): the agreements move to the survivor, the merged name becomes an alias, and the
agreements' kept list rows and facet counts follow in the same transaction.

The vocabulary is one namespace across both tables: a name or slug is either a subject's or one
alias's, never both, so an alias cannot shadow another subject. The database keeps each table
unique; across the two tables, each writer checks under a lock on the name (`_vocabulary_lock`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_update_with_history

from .listing import listing_refresh
from .models import Agreement, Subject, SubjectAlias, subject_text_normalise

SLUG_MAX_LENGTH = Subject._meta.get_field("slug").max_length
NAME_MAX_LENGTH = Subject._meta.get_field("name").max_length
# The first half of the pg_advisory_xact_lock keys of the vocabulary's names ('Subj' in ASCII).
VOCABULARY_LOCK_KEY = 0x5375626A
# Change reasons are cut to this length by django-simple-history's column.
REASON_MAX_LENGTH = 100


def _vocabulary_lock(slugs: Iterable[str]) -> None:
    """Make writers of these names to the vocabulary (a new subject, an alias, a merge) take
    turns until the transaction ends. Each checks a name against both tables before writing it:
    two doing so at once could both find 'defense logistics' free, and one make it a subject
    while the other makes it an alias. One lock per name, so a long import creating 'maritime'
    holds up no one adding another name; taken in sorted order, so two writers cannot deadlock
    over them. Readers never take them, and a write naming only known subjects neither.
    On PostgreSQL transaction-level advisory locks; SQLite has one writer at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for slug in sorted(set(slugs)):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [VOCABULARY_LOCK_KEY, slug]
            )


def _key(text: str) -> tuple[str, str]:
    """(normalised text, slug) of a name as typed."""
    normalised = subject_text_normalise(text)
    return normalised, slugify(normalised)[:SLUG_MAX_LENGTH]


def _subjects_find(keys: Iterable[tuple[str, str]]) -> dict[str, Subject]:
    """The subject each (text, slug) stands for, keyed by slug: a subject with that slug or
    that name (any case), else the subject of the alias with that slug. Two queries."""
    keys = [(text, slug) for text, slug in keys if slug]
    if not keys:
        return {}
    slugs = {slug for _, slug in keys}
    texts = {text for text, _ in keys}
    subjects = list(
        Subject.objects.annotate(lower_name=Lower("name")).filter(
            Q(slug__in=slugs) | Q(lower_name__in=texts)
        )
    )
    by_slug = {subject.slug: subject for subject in subjects}
    by_name = {subject.lower_name: subject for subject in subjects}
    by_alias = {
        alias.slug: alias.subject
        for alias in SubjectAlias.objects.filter(slug__in=slugs).select_related("subject")
    }
    found = {}
    for text, slug in keys:
        subject = by_slug.get(slug) or by_name.get(text) or by_alias.get(slug)
        if subject is not None:
            found[slug] = subject
    return found


def subject_find(*, name: str) -> Subject | None:
    """The subject `name` stands for (its name or slug, or an alias's), or None."""
    text, slug = _key(name)
    return _subjects_find([(text, slug)]).get(slug)


def subject_slug_of_each(values: Iterable[str]) -> dict[str, str | None]:
    """Each filter value (a subject's slug or name, or an alias) with its subject's slug, or
    None when it names no subject. Two queries, none when `values` is empty."""
    values = [value for value in values if value.strip()]
    if not values:
        return {}
    keys = [_key(value) for value in values]
    found = _subjects_find(keys)
    return {
        value: (found[slug].slug if slug in found else None)
        for value, (_, slug) in zip(values, keys, strict=True)
    }


def subject_slugs_canonical(values: Iterable[str]) -> list[str]:
    """Filter values (a subject's slug or name, or an alias) as the subjects' own slugs, in the
    order given, each once. A value that names no subject is kept as it is: it matches nothing,
    as an unknown slug always has. Two queries, none when `values` is empty."""
    slugs = subject_slug_of_each(values)
    return list(dict.fromkeys(slug or value.strip() for value, slug in slugs.items()))


def subject_names_canonical(names: Iterable[str]) -> list[str]:
    """Names as `subjects_resolve` would store them, without writing: a known subject's (or
    alias's) name gives the subject's name, a new one its normalised text. Sorted, each once.
    For comparing an import's subjects with an agreement's."""
    keys = [_key(name) for name in names if name.strip()]
    found = _subjects_find(keys)
    return sorted(
        {found[slug].name if slug in found else text for text, slug in keys if text},
    )


@dataclass(frozen=True)
class SubjectNames:
    slug: str
    name: str
    aliases: list[str]  # alphabetically


def subjects_with_aliases() -> list[SubjectNames]:
    """Every subject with its other names, by name: what the glossary explains. Two queries."""
    aliases: dict[int, list[str]] = {}
    for subject_id, name in SubjectAlias.objects.order_by("name").values_list("subject_id", "name"):
        aliases.setdefault(subject_id, []).append(name)
    return [
        SubjectNames(slug=slug, name=name, aliases=aliases.get(pk, []))
        for pk, slug, name in Subject.objects.order_by("name").values_list("pk", "slug", "name")
    ]


def _subjects_hold(ids: list[int]) -> set[int]:
    """Keep these subjects from being merged away until the transaction ends; returns the ids
    still there. On PostgreSQL a FOR KEY SHARE lock: writers naming the same subject do not
    wait for each other, only a merge (FOR UPDATE, then DELETE) waits, and a subject merged
    away meanwhile is missing from the result, so the caller looks the name up again (now an
    alias of the survivor) instead of linking an agreement to a deleted row."""
    if connection.vendor != "postgresql" or not ids:
        return set(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM agreements_subject WHERE id = ANY(%s) FOR KEY SHARE", [list(ids)]
        )
        return {row[0] for row in cursor.fetchall()}


def subjects_resolve(*, names: Iterable[str], field: str = "subjects") -> list[Subject]:
    """The subjects these names stand for, in the order given, each once.

    A name matches a subject's name or slug, or an alias (case, spaces and hyphens do not
    matter), so 'Defense Logistics' gives the subject 'defence logistics' if that is its alias.
    A name that matches nothing creates the subject, named in lower case with single spaces.
    Blank names are skipped; a name with nothing usable for a slug is a ValidationError on
    `field`. Used by every write that names subjects (API, pages, import, demo loader). Call it
    inside the writer's transaction: the subjects it returns cannot be merged away before that
    transaction ends.
    """
    keys: list[tuple[str, str]] = []
    for name in names:
        text, slug = _key(name)
        if not text:
            continue
        if not slug:
            raise ValidationError({field: f"Not a usable subject: {text!r}."})
        if len(text) > NAME_MAX_LENGTH:
            raise ValidationError(
                {field: f"A subject's name has at most {NAME_MAX_LENGTH} characters."}
            )
        keys.append((text, slug))
    if not keys:
        return []
    with transaction.atomic():
        for _ in range(3):  # a merge can take a found subject away; then look again
            found = _subjects_find(keys)
            missing = [(text, slug) for text, slug in keys if slug not in found]
            if missing:
                _vocabulary_lock(slug for _, slug in missing)
                found |= _subjects_find(missing)  # created meanwhile by another writer
                for text, slug in missing:
                    if slug not in found:
                        found[slug] = Subject.objects.create(slug=slug, name=text)
            ids = {subject.pk for subject in found.values()}
            if _subjects_hold(sorted(ids)) == ids:
                break
        else:  # pragma: no cover - three merges of the same subjects in a row
            raise ValidationError({field: "The subjects are being merged; try again."})
        subjects: list[Subject] = []
        for _, slug in keys:
            if found[slug] not in subjects:
                subjects.append(found[slug])
    return subjects


def _name_taken(text: str, slug: str, *, subject: Subject | None = None) -> str:
    """Why `text` cannot be a new name for `subject` (or a new subject), or '' if it can."""
    other = (
        Subject.objects.annotate(lower_name=Lower("name"))
        .filter(Q(slug=slug) | Q(lower_name=text))
        .exclude(pk=subject.pk if subject else None)
        .first()
    )
    if other is not None:
        return f"'{text}' is the subject '{other.name}' already."
    alias = (
        SubjectAlias.objects.filter(Q(slug=slug) | Q(name=text)).select_related("subject").first()
    )
    if alias is not None:
        if subject is not None and alias.subject_id == subject.pk:
            return f"'{text}' is an alias of this subject already; remove the alias first."
        return (
            f"'{text}' is another name for '{alias.subject.name}' (an alias); "
            "use that subject, or merge the two."
        )
    return ""


def _text_validate(text: str, slug: str, *, field: str) -> None:
    if not text:
        raise ValidationError({field: "Give a name."})
    if len(text) > NAME_MAX_LENGTH:
        raise ValidationError({field: f"At most {NAME_MAX_LENGTH} characters."})
    if not slug:
        raise ValidationError({field: f"'{text}' has no letters or digits to make a slug of."})


def subject_create(*, name: str, slug: str = "") -> Subject:
    """A new subject named `name` (lower case, single spaces); `slug` defaults to the name's.

    Raises ValidationError when the name or slug is another subject's or an alias's: a subject
    and an alias of another subject would otherwise be two subjects for one thing.
    """
    text, own_slug = _key(name)
    slug = slug or own_slug
    _text_validate(text, slug, field="name")
    with transaction.atomic():
        _vocabulary_lock([own_slug, slug])
        problem = _name_taken(text, own_slug)
        if problem:
            raise ValidationError({"name": problem})
        if slug != own_slug and (
            Subject.objects.filter(slug=slug).exists()
            or SubjectAlias.objects.filter(slug=slug).exists()
        ):
            raise ValidationError({"slug": f"'{slug}' is taken by a subject or an alias."})
        subject = Subject(name=text, slug=slug)
        subject.full_clean()
        subject.save()
    return subject


def subject_rename(*, subject: Subject, name: str, reason: str = "") -> Subject:
    """Give a subject a new name (lower case, single spaces). Its slug stays: facet keys,
    saved searches and links use it. Lists show the new name at once (agreements.listing
    looks names up when shown). ValidationError as for subject_create."""
    text, slug = _key(name)
    _text_validate(text, slug, field="name")
    with transaction.atomic():
        _vocabulary_lock([slug])
        current = Subject.objects.select_for_update().get(pk=subject.pk)
        if current.name == text:
            return current
        problem = _name_taken(text, slug, subject=current)
        if problem:
            raise ValidationError({"name": problem})
        current.name = text
        current.full_clean()
        current._change_reason = (reason or f"Renamed from '{subject.name}'")[:REASON_MAX_LENGTH]
        current.save()
    return current


def subject_name_check(*, name: str, subject: Subject | None = None) -> None:
    """Raise ValidationError on `name` unless `name` can be the name of `subject` (or of a new
    subject): not another subject's, not an alias. For forms, before the write; the services
    check again under the name's lock."""
    text, slug = _key(name)
    _text_validate(text, slug, field="name")
    problem = _name_taken(text, slug, subject=subject)
    if problem:
        raise ValidationError({"name": problem})


def subject_alias_check(*, name: str, subject: Subject | None, subject_name: str = "") -> None:
    """Raise ValidationError on `name` unless it can become an alias of `subject` (None: a
    subject not saved yet, named `subject_name`): not the subject's own name, not another
    subject's name or slug, not another subject's alias. An alias the subject has already
    passes. As subject_name_check, for forms and again in the service."""
    text, slug = _key(name)
    _text_validate(text, slug, field="name")
    own = {subject.slug, subject.name.lower()} if subject is not None else set()
    if subject_name:
        own |= set(_key(subject_name))
    if slug in own or text in own:
        raise ValidationError({"name": f"'{text}' is the subject's own name."})
    if subject is not None and SubjectAlias.objects.filter(subject=subject, slug=slug).exists():
        return
    problem = _name_taken(text, slug, subject=subject)
    if problem:
        raise ValidationError({"name": problem})


def subject_alias_add(*, subject: Subject, name: str, reason: str = "") -> SubjectAlias:
    """Make `name` another name for `subject`. Idempotent: an alias the subject has already is
    returned as it is.

    Raises ValidationError on `name` when it is blank or has nothing to make a slug of, or when
    it is already a subject's name or slug (its own or another's: merge them instead), or
    another subject's alias.
    """
    text, slug = _key(name)
    _text_validate(text, slug, field="name")
    with transaction.atomic():
        _vocabulary_lock([slug])
        existing = SubjectAlias.objects.filter(subject=subject, slug=slug).first()
        if existing is not None:
            return existing
        current = Subject.objects.filter(pk=subject.pk).first()
        if current is None:
            raise ValidationError({"subject": "This subject no longer exists (merged?)."})
        subject_alias_check(subject=current, name=name)
        alias = SubjectAlias(subject=current, name=text, slug=slug)
        alias.full_clean()
        alias._change_reason = reason[:REASON_MAX_LENGTH]  # read by django-simple-history
        alias.save()
    return alias


def subject_alias_remove(*, alias: SubjectAlias, reason: str = "") -> bool:
    """Remove an alias: input by that name then makes a new subject. Idempotent: False if it
    was already gone."""
    with transaction.atomic():
        current = SubjectAlias.objects.filter(pk=alias.pk).first()
        if current is None:
            return False
        current._change_reason = reason[:REASON_MAX_LENGTH]
        current.delete()
    return True


def _agreements_lock(links, already: set[int]) -> set[int]:
    """Lock (in id order) the agreements these subject links belong to, beyond `already`;
    returns every id."""
    ids = set(links.values_list("agreement_id", flat=True)) - already
    list(Agreement.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    return already | ids


def _agreements_move_on(ids: Iterable[int], reason: str) -> None:
    """The subjects of these (locked) agreements changed: their versions and `updated_at` move
    on, with `reason` in their history. A many-to-many change is invisible to
    django-simple-history, so this is what the history shows, and what turns a form or an ETag
    read before the change into a conflict."""
    agreements = list(Agreement.objects.filter(pk__in=list(ids)).order_by("pk"))
    now = timezone.now()
    for agreement in agreements:  # the caller holds their row locks
        agreement.version += 1
        agreement.updated_at = now
    # One UPDATE and one history INSERT per batch, however many agreements had the subject.
    bulk_update_with_history(
        agreements,
        Agreement,
        ["version", "updated_at"],
        batch_size=500,
        default_change_reason=reason[:REASON_MAX_LENGTH],
    )


@dataclass(frozen=True)
class SubjectMerge:
    """What subject_merge did."""

    into: Subject
    agreements_moved: int  # agreements that had the merged subject
    agreements_had_both: int  # of those, how many had the survivor already
    aliases: list[str]  # the survivor's aliases afterwards


def subject_merge(*, into: Subject, merged: Subject, reason: str = "") -> SubjectMerge:
    """Merge `merged` into `into`, in one transaction: its agreements get `into` instead (once,
    if they had both), its name (and its slug, if that reads differently) and its aliases
    become aliases of `into`, and `merged` is deleted. Everything that lists or counts subjects
    follows: the agreements' kept list rows and facet keys, and the facet counts
    (agreements.listing), so the merged subject's count goes into the survivor's without
    counting an agreement twice.

    History: each moved agreement's version moves on with a change reason ('Subject … merged
    into …'), which the agreement's history shows and which turns a form or ETag read before
    the merge into a conflict; the deleted subject and the new aliases have their own history.

    Raises ValidationError when the two are one subject or either no longer exists.
    """
    if into.pk == merged.pk:
        raise ValidationError({"merged": "A subject cannot be merged into itself."})
    through = Agreement.subjects.through
    with transaction.atomic():
        # The merged subject's names become aliases: hold them as any writer of a name does.
        _vocabulary_lock([slugify(subject_text_normalise(merged.name)), merged.slug])
        # Lock order as every writer: agreements (by id), then subjects. Writers naming the
        # merged subject hold it (subjects_resolve) until they commit, so once it is locked
        # here no agreement can gain it; those that did meanwhile are read again and locked.
        ids = _agreements_lock(through.objects.filter(subject_id=merged.pk), set())
        locked = {
            subject.pk: subject
            for subject in Subject.objects.select_for_update()
            .filter(pk__in=[into.pk, merged.pk])
            .order_by("pk")
        }
        if into.pk not in locked or merged.pk not in locked:
            raise ValidationError(
                {"merged": "One of the subjects no longer exists (merged already?)."}
            )
        into, merged = locked[into.pk], locked[merged.pk]
        ids = _agreements_lock(through.objects.filter(subject=merged), ids)
        had_both = set(
            through.objects.filter(subject=into, agreement_id__in=ids).values_list(
                "agreement_id", flat=True
            )
        )
        through.objects.filter(subject=merged).delete()
        through.objects.bulk_create(
            [through(agreement_id=pk, subject=into) for pk in sorted(ids) if pk not in had_both]
        )
        change = f"Subject '{merged.name}' merged into '{into.name}'"[:REASON_MAX_LENGTH]
        _agreements_move_on(ids, reason or change)
        for alias in SubjectAlias.objects.filter(subject=merged):
            alias.subject = into
            alias._change_reason = change
            alias.save()
        names = [subject_text_normalise(merged.name), merged.slug.replace("-", " ")]
        taken = {
            into.slug,
            *SubjectAlias.objects.filter(subject=into).values_list("slug", flat=True),
        }
        for text in names:
            slug = slugify(text)[:SLUG_MAX_LENGTH]
            if slug and slug not in taken and text.lower() != into.name.lower():
                alias = SubjectAlias(subject=into, name=text[:NAME_MAX_LENGTH], slug=slug)
                alias._change_reason = change
                alias.save()
                taken.add(slug)
        merged._change_reason = reason[:REASON_MAX_LENGTH] or change
        merged.delete()
        listing_refresh(agreement_ids=sorted(ids))
        aliases = list(SubjectAlias.objects.filter(subject=into).values_list("name", flat=True))
    return SubjectMerge(
        into=into,
        agreements_moved=len(ids),
        agreements_had_both=len(had_both),
        aliases=aliases,
    )


def subject_delete(*, subject: Subject, reason: str = "") -> int:
    """Delete a subject with its aliases, in one transaction. Its agreements lose it: their
    versions move on with a change reason, and their kept list rows and the facet counts
    follow. Returns how many agreements had it. Idempotent: 0 if it was already gone."""
    through = Agreement.subjects.through
    with transaction.atomic():
        # Lock order as subject_merge: agreements, then the subject, then any that gained it.
        ids = _agreements_lock(through.objects.filter(subject_id=subject.pk), set())
        current = Subject.objects.select_for_update().filter(pk=subject.pk).first()
        if current is None:
            return 0
        ids = _agreements_lock(through.objects.filter(subject=current), ids)
        change = f"Subject '{current.name}' removed"[:REASON_MAX_LENGTH]
        through.objects.filter(subject=current).delete()
        _agreements_move_on(ids, reason or change)
        for alias in current.aliases.all():
            alias._change_reason = change  # read by django-simple-history
            alias.delete()
        current._change_reason = (reason or change)[:REASON_MAX_LENGTH]
        current.delete()
        listing_refresh(agreement_ids=sorted(ids))
    return len(ids)
