"""Full-text search of the agreement list: on PostgreSQL the stored, GIN-indexed vectors kept
by triggers, read in rank order a group at a time (RankedMatches) and steered off plans that
read every match (search_through_index); on SQLite a plain substring test."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from django.db import DatabaseError, connection
from django.db.models import BooleanField, Exists, Expression, OuterRef, Q, QuerySet
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND

from apikit.estimates import planner_estimate

from ..listing import rows_by_ids
from ..models import Provision, Statement
from ..ordering import NEWEST_SIGNED_UNSIGNED_FIRST

# The list's default order (agreements.api.filters), which a ranked search's groups follow.
DEFAULT_ORDERING = NEWEST_SIGNED_UNSIGNED_FIRST
# The configuration the PostgreSQL trigger (migration 0002_search_vector) builds the vector with.
SEARCH_CONFIG = "english"


class _VectorMatch(Expression):
    """`<the query's agreement row>.<column> @@ websearch_to_tsquery(...)`, for a tsvector
    column that only PostgreSQL has (not a model field). The row is named by the alias the
    query gives its agreements when it is compiled: a search used inside another query (the
    calendar feed of a search, whose clocks are found among its matches) is relabelled U0, and
    SQL naming the table itself would refer to the outer query's row, or to none (a 500)."""

    output_field = BooleanField()

    def __init__(self, column: str, value: str) -> None:
        super().__init__()
        self.column, self.value = column, value

    def as_sql(self, compiler, connection):
        row = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        column = connection.ops.quote_name(self.column)
        query, params = _tsquery(self.value)
        return f"({row}.{column} @@ {query})", params


def _tsquery(value: str) -> tuple[str, list[str]]:
    """The search `value` as a tsquery: its SQL and parameters."""
    query = f"websearch_to_tsquery('{SEARCH_CONFIG}', %s)"
    if '"' not in value:
        query = _WORDS_OF_A_COMPOUND.format(query)
    return query, [value]


# A word written with a hyphen (`cross-servicing`) is parsed into the whole and its parts, which
# websearch_to_tsquery joins as a phrase: 'cross-serv' <-> 'cross' <-> 'servic'. A phrase is
# checked against each match's word positions, which the index does not hold, so every match's
# vector is unpacked from its out-of-line storage: 6,400 of them for `cross-servicing` at
# 100,000 agreements, 28,000 buffers and 20-47 ms to count, against 5,600 buffers and 5 ms for
# the same words joined by "and". So in a search without a quoted phrase (which asks for its
# words in order), the phrase operators (` <-> `, ` <N> `) that follow such a whole word, a
# lexeme with a hyphen between two letters or digits, and its parts are replaced by "and". The
# whole word, which only such a word gives, still has to be there, so the matches are the same
# but for a text holding another form of it (`cross-serving`, also 'cross-serv') and its last
# part elsewhere (`services`). Other phrases the parser makes of one token are left as they
# are: a date (`2024-01-01`: '2024' <-> '-01' <-> '-01'), `F-35`, `U.S.-Japan`, `O'Brien`. (A
# lexeme of the english configuration holds no space, so ` <-> ` is always an operator.)
_WORDS_OF_A_COMPOUND = (
    "regexp_replace(({})::text, "
    "$$(?<='[^' ]*[[:alnum:]]-[[:alnum:]][^' ]*'(?: <(?:-|[0-9]+)> '[^' ]*')*) <(?:-|[0-9]+)> $$, "
    "' & ', 'g')::tsquery"
)


def search_postgresql(queryset: QuerySet, value: str) -> QuerySet:
    """Match the stored, GIN-indexed `search_vector` column (titles, summary, provisions and
    reservations and declarations, kept current by triggers). `search_rank` says whether the match is in a title or the summary
    (the small `search_rank_vector`, migration 0003): those come first, then the agreements
    matched by their provisions alone (RankedMatches)."""
    # alias(), not annotate(): a selected match would unpack every row's vector again (see
    # search_through_index); the WHERE clause alone is answered by the GIN index.
    # Bare, not wrapped in coalesce(): PostgreSQL estimates a bare `@@` from the column's
    # statistics, and RankedMatches's plans depend on that estimate.
    return queryset.alias(
        search_match=_VectorMatch("search_vector", value),
        search_rank=_VectorMatch("search_rank_vector", value),
    ).filter(search_match=True)


def ranked(queryset: QuerySet) -> bool:
    """Whether this queryset is a search in rank order (no `ordering` asked for)."""
    return tuple(queryset.query.order_by[:1]) == ("-search_rank",)


class RankedMatches:
    """A search's matches in rank order, for a paginator: those matched in a title or the
    summary first, then those matched by provision text alone; each group newest signature
    first, as the list without a search.

    As one query ordered by the rank, PostgreSQL reads every match before it can return the
    first page: 76,000 rows for a common word at 100,000 agreements. Each group as its own
    query is an index walk in the list's order that stops after a page (or, for a rare word, a
    GIN lookup and a small sort), so a page costs about what the unsearched list's does. A
    slice reads the first group, then the second only if the page reaches into it.

    Past the first DEEP rows a walk would have to step over thousands of rows, so a deep page is
    read from the one query in rank order (`queryset`, ordered by its rank): as slow as a
    search was before, for the rare client that pages that far rather than use keyset pages.

    A search counted exactly (the paginator expects no more than it counts: every match is
    read anyway), with no other filter and no word excluded, is counted and has its groups'
    ids sorted in the search's narrow copy (agreements migration 0020: a row of 100 bytes,
    against the agreement's 2 kB), then its rows read by id (SearchCopy).
    """

    ordered = True  # for Django's Paginator
    DEEP = 1000
    # A common search's first page is looked for among the list's first rows first, this many
    # per row asked for (see _first_rows).
    PREFIX_ROWS_PER_ROW = 40
    PREFIX_MAX = 4_000
    TITLE_SHARE = 0.01

    def __init__(self, queryset: QuerySet, *, rows: QuerySet) -> None:
        self.queryset = queryset
        # The list unfiltered (`rows`, the same fields as `queryset`): a page's ids are found
        # first, then its rows read by id (_read).
        self.rows = rows.order_by()
        # Set by a paginator that estimated more matches than it counts exactly
        # (apikit.estimates.EstimatingPaginator): a common search, and the planner's estimate.
        self.estimated_count: int | None = None
        self.counted = queryset.order_by()  # what a paginator counts or estimates
        self.copy = SearchCopy.of(queryset)
        self.groups = [
            _matched_in_rank_vector(queryset).order_by(*DEFAULT_ORDERING),
            queryset.filter(Q(search_rank=False) | Q(search_rank__isnull=True)).order_by(
                *DEFAULT_ORDERING
            ),
        ]

    def count(self) -> int:
        """Every match, counted (a paginator that does not estimate them)."""
        if self.copy is not None:
            return self.copy.count()
        return self.counted.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("RankedMatches takes a slice, start:stop")
        start = index.start or 0
        if index.stop is None:
            return list(self.queryset[index])
        if start >= self.DEEP:
            return self._read(self.queryset, start, index.stop)
        stop = index.stop
        rows: list = []
        first_of_group = 0  # the position of the current group's first row in the whole list
        for number, group in enumerate(self.groups):
            wanted = stop - start - len(rows)
            if wanted <= 0:
                break
            skip = max(0, start + len(rows) - first_of_group)
            found = None
            if number == 0:
                found = self._first_rows(group, skip, wanted)
            if found is None:
                found = self._read_group(number, skip, skip + wanted)
            rows += found
            if len(found) == wanted:
                break
            # This group ended within the slice: its size is known from the rows, unless the
            # slice starts past its end.
            if found or not skip:
                first_of_group += skip + len(found)
            else:
                first_of_group += self._group_size(number)
        return rows

    def _copied(self) -> bool:
        """Whether the groups are read from the narrow copy: a search counted exactly (a
        common one, estimated, is read by walks in list order that stop after a page)."""
        return self.copy is not None and self.estimated_count is None

    def _read_group(self, number: int, start: int, stop: int) -> list:
        if self._copied():
            return rows_by_ids(self.rows, self.copy.ids(group=number, start=start, stop=stop))
        return self._read(self.groups[number], start, stop)

    def _group_size(self, number: int) -> int:
        if self._copied():
            return self.copy.count(group=number)
        return self.groups[number].count()

    def _read(self, queryset: QuerySet, start: int, stop: int) -> list:
        """Rows start to stop of `queryset`. Where PostgreSQL sorts every match to keep a
        page (a bitmap of a word's matches, or the deep path's rank order), sorting the
        whole rows (their kept JSON text among them) took twice as long as sorting their ids,
        dates and titles (`reciprocal access`, 6,671 matches: 20-29 ms against 9-15 ms,
        EXPLAIN ANALYZE): so the ids come first, then the rows by id, from `rows` without the
        search's test, which PostgreSQL would otherwise answer from the whole GIN index again
        (2-8 ms)."""
        return rows_by_ids(self.rows, list(queryset.values_list("pk", flat=True)[start:stop]))

    def _first_rows(self, group: QuerySet, skip: int, wanted: int) -> list | None:
        """The first group's rows skip to skip + wanted when the list's first rows hold them,
        else None (the caller reads the whole group).

        PostgreSQL underestimates how many agreements hold two words that go together, by
        3-12 times (`critical minerals`: 666 expected, 8,119 at 100,000 agreements), so for
        such a search it reads every match's row to sort them (7,156 rows, 24 ms) where the
        first page was among the list's first 604 rows (0.7 ms in list order). For a search
        with more matches than the paginator counts, the page is first looked for by walking
        the list in its order, no further than its first PREFIX_ROWS_PER_ROW rows per row
        wanted and those tied with the last of them (a prefix of the list): the matches found
        there, when enough, are the group's first, since every row before one of them is in
        the prefix too. Bitmaps are turned off for these statements, as the planner would
        otherwise read every match of the word to intersect it with the prefix (7-10 ms for a
        common word). A miss costs that walk (about 4 ms for a page of 50), so it is not tried:
        - for a search that excludes a word: its first group tests the whole vector too, which
          the walk would unpack for each row (28 ms for 2,000);
        - with another filter: the prefix is the whole list's, whose first rows a filter on
          the status or the date may leave out altogether (every unsigned agreement is under
          negotiation);
        - for a word that titles and summaries hardly hold (`shall`, in nearly every
          agreement's provisions and no title): the planner, which underestimates such a
          group but does not miss it, expects fewer title matches than the page needs or
          than TITLE_SHARE of all the matches (`shall`: 70 of 99,503; `critical minerals`:
          666 of 13,200)."""
        stop = skip + wanted
        prefix_rows = self.PREFIX_ROWS_PER_ROW * stop
        if self.estimated_count is None or prefix_rows > self.PREFIX_MAX:
            return None
        if connection.vendor != "postgresql" or not _searched_alone(self.queryset):
            return None
        if excludes_a_word(self.queryset):
            return None
        titles = planner_estimate(group) or 0
        if titles < stop or titles < self.TITLE_SHARE * self.estimated_count:
            return None
        boundary = list(
            group.model._default_manager.order_by(*DEFAULT_ORDERING[:2]).values_list(
                "signed_on", "title"
            )[prefix_rows - 1 : prefix_rows]
        )
        if not boundary:  # the list is no longer than the prefix
            return None
        signed_on, title = boundary[0]
        # The list opens with the unsigned agreements (PostgreSQL sorts a descending NULL
        # first), by title; then the newest signature first. The prefix is walked as index
        # ranges in list order: the unsigned agreements (up to the boundary's title, if it is
        # one of them), then those signed after the boundary's date, then those signed on it
        # up to its title. One condition with an "or" would bound no index scan: on a miss,
        # the walk would go through the whole list.
        if signed_on is None:
            segments = [group.filter(signed_on__isnull=True, title__lte=title)]
        else:
            segments = [
                group.filter(signed_on__isnull=True),
                group.filter(signed_on__gt=signed_on),
                group.filter(signed_on=signed_on, title__lte=title),
            ]
        rows: list = []
        with _steered("enable_bitmapscan"):
            for segment in segments:
                rows += segment[: stop - len(rows)]
                if len(rows) == stop:
                    return rows[skip:]
        return None


class SearchCopy:
    """A search's count and its groups' ids in list order, from the search's narrow copy of the
    agreements (agreements migration 0020: id, signature date, title and both vectors, the
    vectors out of line). Read by bitmaps of its GIN indexes and a sort, as the same statements
    on the agreements are, but over pages that hold about 80 rows each, not four: `reciprocal
    access` (6,671 matches at 100,000 agreements) counted in 3.7 to 4.2 ms against 8 to 9.6,
    its first page of ids sorted in 4.5 to 5 against 8 to 10.

    The groups are RankedMatches's: 0, matched in a title or the summary (`search_rank_vector`);
    1, matched elsewhere alone. Group 1 leaves out group 0's ids by the rank vector's index
    (an anti-join), not by testing each match's rank vector, which is stored out of line."""

    # The groups' conditions; each `{q}` is the search's tsquery, with the text as a parameter.
    WHERE = {
        None: "s.search_vector @@ {q}",
        0: "s.search_rank_vector @@ {q}",
        1: "s.search_vector @@ {q} AND NOT EXISTS (SELECT 1 FROM agreements_search_copy r"
        " WHERE r.agreement_id = s.agreement_id AND r.search_rank_vector @@ {q})",
    }
    # The list's order (DEFAULT_ORDERING) in the copy's columns: PostgreSQL sorts a descending
    # NULL first, as the list does.
    ORDER = {NEWEST_SIGNED_UNSIGNED_FIRST: "s.signed_on DESC, s.title, s.agreement_id"}

    def __init__(self, text: str) -> None:
        self.text = text

    @classmethod
    def of(cls, queryset: QuerySet) -> SearchCopy | None:
        """The copy for this search, when it answers for it: on PostgreSQL, for a search that
        is the queryset's only filter and excludes no word (its rank vector's matches are then
        matches of the whole one: _matched_in_rank_vector)."""
        if connection.vendor != "postgresql" or not _searched_alone(queryset):
            return None
        if excludes_a_word(queryset):
            return None
        return cls(queryset.query.annotations["search_match"].value)

    def _where(self, group: int | None) -> tuple[str, list[str]]:
        condition = self.WHERE[group]
        query, params = _tsquery(self.text)
        return condition.format(q=query), params * condition.count("{q}")

    def count(self, group: int | None = None) -> int:
        """How many match (in `group`, or in all)."""
        where, params = self._where(group)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM agreements_search_copy s WHERE {where}",  # noqa: S608  # nosec B608
                params,
            )
            return cursor.fetchone()[0]

    def ids(self, *, group: int, start: int, stop: int) -> list[int]:
        """The ids of `group`'s rows start to stop, in list order."""
        where, params = self._where(group)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.agreement_id FROM agreements_search_copy s WHERE {where}"  # noqa: S608  # nosec B608
                f" ORDER BY {self.ORDER[DEFAULT_ORDERING]} OFFSET %s LIMIT %s",
                [*params, start, stop - start],
            )
            return [row[0] for row in cursor.fetchall()]


@contextlib.contextmanager
def _steered(setting: str) -> Iterator[None]:
    """PostgreSQL's planner with `setting` (an enable_* one) off, until the block ends."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET {setting} = off")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"RESET {setting}")


# websearch_to_tsquery's "not": a minus sign that does not join two words ("-word", "a - b").
_NEGATION = re.compile(r"(?<!\w)-|-(?!\w)")


def _matched_in_rank_vector(queryset: QuerySet) -> QuerySet:
    """The search's first group: the matches in a title or the summary.

    Without a "not" in the search, a match of the rank vector is a match of the whole one
    (which holds the same words at the same positions, then the provisions'), so the whole
    vector's test is left out of this group's query. With both tests PostgreSQL multiplies
    their chances as if they were independent, expects a twentieth of the true count (431 rows
    for `typhoon relief` at 100,000 agreements, against 8,091), and sorts a bitmap of every
    match (32 ms) where a walk of the list's order stops after a page (4 ms). With a "not", a
    title may match where the provisions hold the excluded word: both tests stay."""
    grouped = queryset.filter(search_rank=True)
    where = grouped.query.where
    if where.connector != AND or where.negated:
        return grouped
    whole_vector = [child for child in where.children if _is_whole_vector_match(child)]
    if len(whole_vector) != 1 or _NEGATION.search(whole_vector[0].lhs.value):
        return grouped
    where.children.remove(whole_vector[0])
    return grouped


def _is_whole_vector_match(condition: object) -> bool:
    """Whether this WHERE condition is the search's test of the whole vector."""
    return (
        isinstance(condition, Exact)
        and isinstance(condition.lhs, _VectorMatch)
        and condition.lhs.column == "search_vector"
        and condition.rhs is True
    )


def _searched_alone(queryset: QuerySet) -> bool:
    """Whether the search is this queryset's only filter."""
    where = queryset.query.where
    return (
        where.connector == AND
        and not where.negated
        and len(where.children) == 1
        and _is_whole_vector_match(where.children[0])
    )


def searched(queryset: QuerySet) -> bool:
    """Whether a free-text search narrows this queryset (on PostgreSQL)."""
    return "search_match" in queryset.query.annotations


# A search that excludes a word, with fewer matches than this, is read from the GIN index alone
# (search_through_index).
FEW_MATCHES = 4_000


@contextlib.contextmanager
def search_through_index(
    active: bool = True, *, matches: QuerySet | None = None
) -> Iterator[int | None]:
    """Run a search's queries with PostgreSQL's planner steered off whole-table scans.

    The full-text vector is large (it holds every provision's text), so it is compressed and
    stored out of line (TOAST). The planner does not charge for unpacking it: for a word in a
    third or more of the agreements it prefers reading the whole table and testing every row's
    vector (about 300 ms at 100,000 agreements) to the GIN index, whose matches need no vector
    unpacked at all (about 60 ms; the rank reads the small `search_rank_vector`). Turning
    sequential scans off for these statements leaves the planner every other choice: an index
    walk in the requested order when that is cheaper (a common word sorted by date), a bitmap
    of the GIN index otherwise.

    The planner cannot estimate a search that excludes a word (`matches`, the search's
    queryset, says which): it expected 12,000 matches for `typhoon -relief`, which has none at
    100,000 agreements, and walked every agreement in list order, unpacking each one's vector,
    to fill a page that stayed empty (0.7 s). So such a search's matches are first counted from
    the GIN index, up to FEW_MATCHES (3 ms for none); when fewer, index walks are turned off too,
    so that each page is read from the GIN index and sorted, and the count is yielded: exact, for
    the caller to show instead of the estimate. Otherwise None is yielded. A search that excludes
    words and looks up none (`-relief`) is not counted first: the GIN index cannot narrow it, so
    the count would read FEW_MATCHES agreements' vectors (170 ms), where a walk in list order
    finds a page among the many agreements without the word.

    Session-level and reset afterwards; inside a transaction that failed meanwhile, its
    rollback undoes the settings.
    """
    if not active or connection.vendor != "postgresql":
        yield None
        return
    with contextlib.ExitStack() as steered:
        steered.enter_context(_steered("enable_seqscan"))
        few = None
        if matches is not None and excludes_a_word(matches) and _narrowed_by_the_index(matches):
            index_walks_off = steered.enter_context(contextlib.ExitStack())
            index_walks_off.enter_context(_steered("enable_indexscan"))
            found = matches.order_by().values("pk")[:FEW_MATCHES].count()
            if found < FEW_MATCHES:
                few = found
            else:
                index_walks_off.close()
        yield few


def excludes_a_word(queryset: QuerySet) -> bool:
    """Whether a free-text search narrows this queryset (on PostgreSQL) and excludes a word
    (`-word`)."""
    match = queryset.query.annotations.get("search_match")
    return isinstance(match, _VectorMatch) and search_excludes(match.value)


def search_excludes(text: str) -> bool:
    """Whether the search `text` excludes a word (`-word`)."""
    return _NEGATION.search(text) is not None


def _narrowed_by_the_index(queryset: QuerySet) -> bool:
    """Whether PostgreSQL reads this search (one that excludes_a_word) as a "not" that the GIN
    index can narrow. It cannot when no word is required: `-relief`, `the -relief` (a stop word
    is dropped), `typhoon or -relief`. `querytree` gives the part of the parsed query the index
    can answer, "T" for none."""
    value = queryset.query.annotations["search_match"].value
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT strpos(q::text, '!') > 0 AND querytree(q) NOT IN ('', 'T')"
            " FROM websearch_to_tsquery(%s::regconfig, %s) AS q",
            [SEARCH_CONFIG, value],
        )
        return cursor.fetchone()[0]


def search_simple(queryset: QuerySet, value: str) -> QuerySet:
    """SQLite: every word must appear in a title, the summary, a provision or a reservation or
    declaration (any case)."""
    for word in value.split()[:10]:
        in_provisions = Provision.objects.filter(agreement=OuterRef("pk")).filter(
            Q(text__icontains=word) | Q(label__icontains=word)
        )
        in_statements = Statement.objects.filter(agreement=OuterRef("pk")).filter(
            Q(text__icontains=word) | Q(article__icontains=word)
        )
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(short_name__icontains=word)
            | Q(summary__icontains=word)
            | Exists(in_provisions)
            | Exists(in_statements)
        )
    return queryset
