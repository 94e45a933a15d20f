"""Generate N synthetic agreements for benchmarks (bench/), on PostgreSQL, with COPY.

Realistic shape, not realistic content: mostly bilateral agreements, some multilateral ones with up
to 50 parties; 3 to 40 provisions; each party's procedure steps (from its default procedure) in
varied states; signatories, sources, subjects, relations and a status history. Deterministic: the
same seed, N and `--today` give the same rows (each agreement has its own random stream, so the
batch size does not matter).

Derived fields (status, status_since, expected entry into force, each party's progress and
consent date) are computed here with ratification.engine.evaluate, the function the services
use, so the stored values are what a recompute would store. The status history and the sweep's
flags (overdue steps, stale data) are recorded as if earlier sweeps had run, so a sweep on the
next day sees the steady state rather than years of backlog.

Rows go in with COPY in batches, with triggers off for the session (session_replication_role =
replica, which needs a superuser; the generator's ids are consistent by construction). At the
end one UPDATE fires the search triggers once per agreement, so the full-text columns are exactly
what the migrations' triggers build.
History tables (django-simple-history) are not filled: nothing on the read paths reads them.

Not for production databases: it refuses to run unless the agreement table is empty or --append.
"""

# ruff: noqa: S311 (seeded pseudo-random data is the point; nothing here is a secret)

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import DateTimeField
from django.utils.text import slugify

from agreements.listing import listing_rebuild
from agreements.models import Subject
from parties.models import Party, ProcedureStep
from ratification import engine
from ratification.models import StatusChange
from ratification.services import SHARED_FACTS, participation_dates

BATCH = 2000

SUBJECTS = [
    "defence logistics",
    "visiting forces",
    "information security",
    "disaster relief",
    "peacekeeping",
    "joint exercises",
    "maritime security",
    "defence equipment and technology",
    "military basing",
    "mutual defence",
    "counter-terrorism",
    "cyber security",
    "space cooperation",
    "economic partnership",
    "nuclear non-proliferation",
    "arms control",
    "intelligence sharing",
    "search and rescue",
]

# (short name, title phrase, provision categories it favours)
TOPICS = [
    (
        "ACSA",
        "Acquisition and Cross-Servicing Agreement",
        ["logistics_support", "tax_customs_exemption"],
    ),
    (
        "RAA",
        "Reciprocal Access Agreement",
        ["status_of_forces", "joint_exercises", "basing_access"],
    ),
    ("SOFA", "Status of Forces Agreement", ["status_of_forces", "tax_customs_exemption"]),
    ("GSOMIA", "General Security of Military Information Agreement", ["information_security"]),
    ("DCA", "Defence Cooperation Agreement", ["consultation", "joint_exercises", "military_aid"]),
    ("MDT", "Mutual Defence Treaty", ["mutual_defence", "consultation"]),
    ("EDCA", "Enhanced Defence Cooperation Agreement", ["basing_access", "logistics_support"]),
    (
        "TTA",
        "Defence Equipment and Technology Transfer Agreement",
        ["military_aid", "information_security"],
    ),
    ("DRA", "Agreement on Disaster Relief Cooperation", ["disaster_response", "logistics_support"]),
    ("PKO", "Agreement on Cooperation in Peace Operations", ["peacekeeping", "logistics_support"]),
    ("NAP", "Treaty of Non-Aggression", ["non_aggression", "neutrality", "consultation"]),
    ("EPA", "Economic Partnership Agreement", ["economic_cooperation", "tax_customs_exemption"]),
    ("MSA", "Maritime Security Cooperation Agreement", ["consultation", "joint_exercises"]),
    ("SAR", "Search and Rescue Agreement", ["disaster_response", "consultation"]),
]
MULTILATERAL_TOPICS = [
    ("Convention on Mutual Assistance in Disaster Relief", "disaster relief"),
    ("Treaty on Regional Security Consultation", "mutual defence"),
    ("Agreement on the Protection of Classified Information", "information security"),
    ("Protocol on Peace Operations Logistics", "peacekeeping"),
    ("Convention on Maritime Safety and Security", "maritime security"),
    ("Framework Agreement on Counter-Terrorism Cooperation", "counter-terrorism"),
    ("Treaty on the Non-Proliferation of Missile Technology", "nuclear non-proliferation"),
    ("Convention on Search and Rescue at Sea", "search and rescue"),
]

CATEGORY_SENTENCES = {
    "mutual_defence": "Each Party recognises that an armed attack against {b} would be dangerous to its own peace and safety and declares that it would act to meet the common danger.",
    "consultation": "The Parties shall consult together whenever, in the opinion of either, the {w1} of {a} or {b} is threatened, and shall hold regular {w2} talks.",
    "non_aggression": "The Parties undertake to refrain from any act of aggression or use of force against one another, and to settle disputes about {w1} by peaceful means.",
    "neutrality": "Should either Party become involved in hostilities, the other Party shall remain neutral and shall not assist any third State in matters of {w1}.",
    "logistics_support": "Either Party may request supplies and services, including fuel, food, water, ammunition, transportation and {w1}, which the other Party shall provide on a reimbursable basis.",
    "tax_customs_exemption": "Goods and {w1} provided under this Agreement shall be exempt from customs duties, taxes and similar charges levied by {a} or {b}.",
    "joint_exercises": "The forces of the Parties may conduct combined training and exercises, including {w1} and {w2} drills, in the territory of either Party.",
    "status_of_forces": "Members of the visiting force shall respect the law of {b}; jurisdiction over offences connected with {w1} shall be exercised as set out in this Article.",
    "basing_access": "{b} shall grant access to agreed facilities and areas for {w1}, prepositioning of equipment and the rotational presence of personnel.",
    "disaster_response": "In the event of a natural disaster or {w1}, the Parties shall cooperate in relief operations, humanitarian assistance and the transport of {w2}.",
    "peacekeeping": "The Parties shall cooperate in United Nations peacekeeping operations and international efforts for {w1}, including mutual logistics support.",
    "information_security": "Classified information concerning {w1} exchanged between {a} and {b} shall be protected at an equivalent level of security classification.",
    "military_aid": "{a} shall provide equipment, training and funds for {w1} to strengthen the {w2} capabilities of {b}.",
    "economic_cooperation": "The Parties shall promote trade and investment in {w1} and reduce barriers to {w2} between their economies.",
    "other": "The Parties shall cooperate on {w1} and {w2} in accordance with their respective laws and regulations.",
}
WORDS = [
    "maritime domain awareness",
    "cyber defence",
    "amphibious operations",
    "air defence",
    "coastal patrol",
    "medical evacuation",
    "satellite communications",
    "mine countermeasures",
    "submarine rescue",
    "airlift",
    "sealift",
    "border security",
    "counter-piracy",
    "humanitarian demining",
    "fisheries protection",
    "energy security",
    "critical minerals",
    "semiconductor supply chains",
    "port infrastructure",
    "telecommunications",
    "vaccine distribution",
    "typhoon relief",
    "earthquake response",
    "wildfire response",
    "flood relief",
    "anti-submarine warfare",
    "missile defence",
    "unmanned systems",
    "shipbuilding",
    "ammunition storage",
    "fuel depots",
    "runway repair",
    "search and rescue",
    "weather forecasting",
    "space situational awareness",
    "export controls",
    "nuclear safety",
    "chemical weapons destruction",
    "small arms control",
    "training ranges",
    "military medicine",
    "veterinary services",
    "cold-weather training",
]
FIRST_NAMES = [
    "Akira",
    "Hiroshi",
    "Yoko",
    "Maria",
    "Jose",
    "Ana",
    "Ramon",
    "Lloyd",
    "Antony",
    "Penny",
    "Richard",
    "Kim",
    "Min-jun",
    "Ji-woo",
    "Anthony",
    "Marles",
    "Emmanuel",
    "Olaf",
    "Giorgia",
    "Pedro",
    "Narendra",
    "Subrahmanyam",
    "Retno",
    "Vivian",
    "Ngozi",
    "Amina",
    "Lars",
    "Ingrid",
    "Sofia",
    "Mateus",
    "Chen",
    "Wei",
    "Nguyen",
    "Thi",
    "Ahmed",
    "Fatima",
    "Olga",
    "Ivan",
    "Kofi",
    "Ama",
]
LAST_NAMES = [
    "Kamikawa",
    "Motegi",
    "Hayashi",
    "Manalo",
    "Teodoro",
    "Lazaro",
    "Austin",
    "Blinken",
    "Wong",
    "Marles",
    "Cho",
    "Shin",
    "Park",
    "Hamid",
    "Mbeki",
    "Okafor",
    "Jaishankar",
    "Marsudi",
    "Balakrishnan",
    "Lindqvist",
    "Haugen",
    "Oliveira",
    "Silva",
    "Zhang",
    "Li",
    "Tran",
    "Nguyen",
    "Rahman",
    "Hassan",
    "Petrova",
    "Sokolov",
    "Mensah",
    "Boateng",
    "Lopez",
    "Garcia",
    "Dubois",
    "Rossi",
    "Schmidt",
]
ROLES = [
    "Minister for Foreign Affairs",
    "Minister of Defence",
    "Secretary of National Defense",
    "Ambassador Extraordinary and Plenipotentiary",
    "Secretary of State",
    "Prime Minister",
    "President",
    "Deputy Minister for Foreign Affairs",
]
CITIES = [
    "Tokyo",
    "Manila",
    "Washington",
    "London",
    "Canberra",
    "Brussels",
    "Seoul",
    "Jakarta",
    "Singapore",
    "Paris",
    "Berlin",
    "Geneva",
    "New",
    "York",
    "Hanoi",
    "Bangkok",
    "Delhi",
    "Ottawa",
]


def _weights(n: int) -> list[float]:
    """Zipf-like activity: a few parties sign far more agreements than most."""
    return [1.0 / (rank + 3) ** 1.1 for rank in range(n)]


class Generator:
    def __init__(self, *, seed: int, today: date, stdout) -> None:
        self.seed = seed
        self.today = today
        self.out = stdout
        parties = list(Party.objects.order_by("code"))
        majors = ["US", "JP", "GB", "FR", "DE", "AU", "PH", "KR", "IN", "CN", "EU", "CA", "IT"]
        rng = random.Random(seed)  # nosec B311  # seeded synthetic data, no secret
        rest = [p for p in parties if p.code not in majors]
        rng.shuffle(rest)
        by_code = {p.code: p for p in parties}
        self.parties = [by_code[c] for c in majors if c in by_code] + rest
        self.party_weights = _weights(len(self.parties))
        self.cum_weights = []
        total = 0.0
        for w in self.party_weights:
            total += w
            self.cum_weights.append(total)
        procedures: dict[int | None, list[ProcedureStep]] = {}
        for step in ProcedureStep.objects.order_by("party_id", "order"):
            procedures.setdefault(step.party_id, []).append(step)
        generic = procedures.get(None) or []
        if not generic:
            raise CommandError("No generic procedure (ProcedureStep with no party): migrate first.")
        self.procedure = {p.pk: procedures.get(p.pk, generic) for p in self.parties}
        self.subject_ids = self._subjects()
        self.stale_before = today - settings.STALE_AFTER
        self.ids: dict[str, int] = {}

    def _subjects(self) -> list[int]:
        ids = []
        for name in SUBJECTS:
            subject, _ = Subject.objects.get_or_create(slug=slugify(name), defaults={"name": name})
            ids.append(subject.pk)
        return ids

    def _pick_parties(self, rng: random.Random, count: int) -> list[Party]:
        chosen: dict[int, Party] = {}
        while len(chosen) < count:
            for party in rng.choices(self.parties, cum_weights=self.cum_weights, k=count):
                chosen.setdefault(party.pk, party)
                if len(chosen) == count:
                    break
        return list(chosen.values())

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    # One agreement -----------------------------------------------------------------------------

    def agreement(self, index: int, rows: dict[str, list[tuple]]) -> None:
        rng = random.Random(self.seed * 1_000_003 + index)  # nosec B311  # seeded synthetic data
        today = self.today
        agreement_id = self.next_id("agreement")
        multilateral = rng.random() < 0.08
        count = min(50, 3 + int(47 * rng.random() ** 3)) if multilateral else 2
        parties = self._pick_parties(rng, count)

        stage = rng.choices(
            ["negotiation", "signing", "ratified", "in_force", "suspended", "terminated"],
            weights=[5, 22, 4, 57, 2, 10],
        )[0]
        if stage == "negotiation":
            signed_on = None
        elif stage in ("signing", "ratified"):
            signed_on = today - timedelta(days=rng.randint(20, 1500))
        else:
            signed_on = today - timedelta(days=rng.randint(200, 12000))

        # Entry-into-force rule.
        roll = rng.random()
        eif_days = eif_fixed_on = eif_required = None
        if multilateral and roll < 0.5:
            eif_rule, eif_days = "days_after_nth_ratification", rng.choice([30, 60, 90])
            eif_required = max(2, int(count * rng.uniform(0.3, 0.8)))
        elif roll < 0.55:
            eif_rule, eif_days = "days_after_last_notification", rng.choice([30, 30, 30, 60, 90])
        elif roll < 0.75:
            eif_rule = "on_signature"
        elif roll < 0.85 and signed_on:
            eif_rule = "on_date"
            eif_fixed_on = signed_on + timedelta(days=rng.randint(30, 400))
        else:
            eif_rule = ""
        if stage == "ratified":
            # Waiting for a date that is still ahead: the sweep will find some of these due.
            eif_rule, eif_days, eif_fixed_on, eif_required = (
                "days_after_last_notification",
                rng.choice([30, 60, 90]),
                None,
                None,
            )

        # Each party's steps.
        party_facts = []
        participation_rows = []
        step_rows = []
        overdue_steps = []
        sources_for_agreement = [
            rng.randint(1, self.source_count) for _ in range(rng.randint(1, 2))
        ]
        for position, party in enumerate(parties):
            participation_id = self.next_id("participation")
            needs_legislature = rng.random() < 0.6
            procedure = self.procedure[party.pk]
            plan = []
            for p in procedure:
                status = "not_required" if p.legislative and not needs_legislature else "pending"
                plan.append([p.kind, p.body, status, None])
            live = [s for s in plan if s[2] == "pending"]
            if stage == "negotiation":
                done = 1 if live and live[0][0] == "cabinet_approval" and rng.random() < 0.4 else 0
            elif stage == "signing":
                # At least one party still on its way; the others anywhere.
                if position == 0:
                    done = rng.randint(0, max(0, len(live) - 1))
                else:
                    done = rng.randint(0, len(live))
            else:
                done = len(live)
            if not multilateral and signed_on:
                # A signed bilateral agreement's signature steps follow its date (the services'
                # SHARED_FACTS): completed on it, never left pending behind it.
                signature = next((n for n, s in enumerate(live) if s[0] == "signature"), None)
                if signature is not None:
                    done = max(done, signature + 1)
            if stage == "ratified":
                last_on = today - timedelta(days=rng.randint(1, max(1, eif_days - 1)))
            else:
                last_on = None
            self._date_steps(rng, live, done, signed_on, last_on)
            if stage == "signing" and done < len(live):
                following = live[done]
                # A bilateral agreement's signature and entry-into-force steps follow its own
                # dates (ratification.services.SHARED_FACTS): never scheduled on their own. One
                # scheduled in the past would be completed by the first sweep, not flagged.
                shared = not multilateral and following[0] in SHARED_FACTS
                roll = 1.0 if shared else rng.random()
                if roll < 0.03:
                    following[2], following[3] = "failed", self._after(rng, live, done, signed_on)
                elif roll < 0.33:
                    if rng.random() < 0.12:  # the vote was scheduled; nobody recorded the outcome
                        following[2] = "scheduled"
                        following[3] = today - timedelta(days=rng.randint(0, 90))
                    else:
                        following[2] = "scheduled"
                        following[3] = today + timedelta(days=rng.randint(1, 180))
            if stage == "suspended" and position == 0:
                plan.append(["suspension", "", "pending", None])
            if stage == "terminated" and not multilateral and position == 0 and rng.random() < 0.3:
                plan.append(["withdrawal", "", "pending", None])
            steps = []
            for order, (kind, body, status, step_date) in enumerate(plan, start=1):
                step_id = self.next_id("step")
                source_id = (
                    rng.randint(1, self.source_count)
                    if status == "completed" and rng.random() < 0.25
                    else None
                )
                votes = (None, None, None)
                if kind == "legislative_approval" and status in ("completed", "failed"):
                    total = rng.randint(60, 480)
                    share = (
                        rng.uniform(0.55, 0.9) if status == "completed" else rng.uniform(0.2, 0.49)
                    )
                    votes = (int(total * share), int(total * (1 - share)), rng.randint(0, 10))
                steps.append(engine.StepFacts(order, kind, status, step_date, body, step_id))
                step_rows.append(
                    [
                        step_id,
                        order,
                        kind,
                        body,
                        status,
                        step_date,
                        *votes,
                        "",
                        1,
                        participation_id,
                        source_id,
                    ]
                )
                if status == "scheduled" and step_date < today:
                    overdue_steps.append((step_id, party, kind, body, step_date))
            party_facts.append(engine.PartyFacts(code=party.code, steps=tuple(steps)))
            participation_rows.append([participation_id, party, needs_legislature])

        facts = engine.AgreementFacts(
            kind="multilateral" if multilateral else "bilateral",
            signed_on=signed_on,
            eif_rule=eif_rule,
            eif_days=eif_days,
            eif_fixed_on=eif_fixed_on,
            eif_ratifications_required=eif_required,
            parties=tuple(party_facts),
        )
        # End events and recorded dates need the consent dates first.
        first = engine.evaluate(facts, today)
        consents = [p.consented_on for p in first.parties.values() if p.consented_on]
        last_consent = max(consents) if consents else signed_on
        entered = ended = None
        if stage in ("in_force", "suspended", "terminated") and signed_on:
            expected = first.expected_entry_into_force_on
            if expected and expected <= today and rng.random() < 0.8:
                entered = max(expected, signed_on)
            elif not expected and last_consent and rng.random() < 0.7:
                entered = min(
                    today, max(signed_on, last_consent + timedelta(days=rng.randint(0, 60)))
                )
        end_base = entered or last_consent or signed_on
        if stage in ("suspended", "terminated") and end_base:
            end_on = min(today, end_base + timedelta(days=rng.randint(100, 4000)))
            end_step = next((r for r in step_rows if r[2] in ("suspension", "withdrawal")), None)
            if end_step is not None:
                end_step[4], end_step[5] = "completed", end_on
                party_facts = [
                    engine.PartyFacts(
                        code=pf.code,
                        steps=tuple(
                            engine.StepFacts(s.order, s.kind, "completed", end_on, s.body, s.id)
                            if s.id == end_step[0]
                            else s
                            for s in pf.steps
                        ),
                    )
                    for pf in party_facts
                ]
            elif stage == "terminated":
                ended = end_on
        facts = engine.AgreementFacts(
            kind=facts.kind,
            signed_on=signed_on,
            eif_rule=eif_rule,
            eif_days=eif_days,
            eif_fixed_on=eif_fixed_on,
            eif_ratifications_required=eif_required,
            entered_into_force_on=entered,
            ended_on=ended,
            parties=tuple(party_facts),
        )
        result = engine.evaluate(facts, today)

        # Text.
        names = [p.name for p in parties]
        if multilateral:
            title_phrase, subject_name = rng.choice(MULTILATERAL_TOPICS)
            year = (signed_on or today).year
            title = f"{title_phrase} ({year})"
            short = ""
            categories = [c for c, t in CATEGORY_SENTENCES.items() if rng.random() < 0.25] or [
                "consultation"
            ]
            subjects = {self.subject_ids[SUBJECTS.index(subject_name)]}
        else:
            short, phrase, categories = rng.choice(TOPICS)
            title = f"{phrase} between {names[0]} and {names[1]}"
            subjects = set()
        subjects |= set(rng.sample(self.subject_ids, rng.randint(1, 2)))
        w = rng.sample(WORDS, 4)
        summary = (
            f"{'A multilateral' if multilateral else 'A bilateral'} agreement among {len(names)} "
            f"parties on {w[0]} and {w[1]}. It provides for {w[2]}"
            f"{' and ' + w[3] if rng.random() < 0.5 else ''}, and for consultation on its "
            f"implementation."
        )
        slug = f"{slugify(short or title_phrase)[:40]}-{'-'.join(p.code.lower() for p in parties[:2])}-{agreement_id}"
        signed_at = rng.choice(CITIES) if signed_on else ""
        created_at = datetime.combine(
            today - timedelta(days=rng.randint(0, 1100)), datetime.min.time(), tzinfo=UTC
        ) + timedelta(seconds=rng.randint(0, 86399))
        roll = rng.random()
        if roll < 0.55:
            reviewed = today - timedelta(days=rng.randint(0, 179))
        elif roll < 0.85:
            reviewed = today - timedelta(days=rng.randint(180, 2000))
        else:
            reviewed = None

        # Status history, as the services would have recorded it.
        changes = []
        revision = 0

        def change(kind, frm, to, on, message, party=None, key=None, step=None):
            nonlocal revision
            if key is None:
                revision += 1
                key = f"a{agreement_id}:r{revision}:{kind}"
            moment = datetime.combine(on or created_at.date(), datetime.min.time(), tzinfo=UTC)
            moment += timedelta(hours=9, seconds=rng.randint(0, 30000))
            changes.append(
                [
                    self.next_id("change"),
                    kind,
                    frm,
                    to,
                    on,
                    moment,
                    message[:500],
                    key,
                    agreement_id,
                    party.pk if party else None,
                    step,
                    moment,
                ]
            )

        label = short or title
        ladder = ["under_negotiation", "signed", "ratified", "in_force"]
        reached = engine.STATUS_RANK.get(result.status, 3)
        if (
            result.status in ("suspended", "terminated")
            and not entered
            and not first.expected_entry_into_force_on
        ):
            reached = 1
        for (code, party_result), party in zip(result.parties.items(), parties, strict=True):
            if party_result.progress == "completed":
                change(
                    "party_completed",
                    "in_progress",
                    "completed",
                    party_result.consented_on,
                    f"{label}: {party.name} has consented to be bound.",
                    party=party,
                    key=f"a{agreement_id}:r{revision + 1}:party:{code}",
                )
                revision += 1
        for rank in range(1, reached + 1):
            on = {1: signed_on, 2: last_consent, 3: entered or result.expected_entry_into_force_on}[
                rank
            ]
            change(
                "status_changed",
                ladder[rank - 1],
                ladder[rank],
                on,
                f"{label}: {ladder[rank - 1].replace('_', ' ')} → {ladder[rank].replace('_', ' ')}.",
                key=f"a{agreement_id}:r{revision + 1}:status",
            )
            revision += 1
        if result.status in ("suspended", "terminated"):
            change(
                "status_changed",
                "in_force",
                result.status,
                result.status_since,
                f"{label}: in force → {result.status}.",
                key=f"a{agreement_id}:r{revision + 1}:status",
            )
            revision += 1
        for step_id, party, kind, _body, step_date in overdue_steps:
            change(
                "step_overdue",
                "scheduled",
                "overdue",
                step_date,
                f"{label}: {party.name} {kind.replace('_', ' ')} was scheduled for "
                f"{step_date.isoformat()}; no result recorded.",
                party=party,
                key=f"step{step_id}:overdue:{step_date.isoformat()}",
                step=step_id,
            )
        stale = result.status != "terminated" and (
            (reviewed is not None and reviewed < self.stale_before)
            or (reviewed is None and created_at.date() < self.stale_before)
        )
        if stale:
            mark = reviewed.isoformat() if reviewed else "never"
            change(
                "stale",
                mark,
                "stale",
                today - timedelta(days=rng.randint(0, 30)),
                f"{label}: data last reviewed {mark}; please check it against the sources.",
                key=f"a{agreement_id}:stale:{mark}",
            )

        rows["agreement"].append(
            (
                agreement_id,
                slug,
                title,
                short,
                facts.kind,
                summary,
                signed_on,
                signed_at,
                eif_rule,
                eif_days,
                eif_fixed_on,
                eif_required,
                entered,
                ended,
                result.status,
                result.expected_entry_into_force_on,
                reviewed,
                result.status_since,
                revision,
                1 + rng.randint(0, 3),
                created_at,
                created_at,
                "{}",  # listing and facet_keys: filled by listing_rebuild() in _finish
                "[]",
                0,  # cache_stamp: moved on by the triggers from the first write
                "",  # depositary: not recorded
                "[]",  # eif_groups: the generator's rules name no groups
            )
        )
        for participation_id, party, needs_legislature in participation_rows:
            party_result = result.parties[party.code]
            rows["participation"].append(
                (
                    participation_id,
                    agreement_id,
                    party.pk,
                    needs_legislature,
                    party_result.progress,
                    party_result.consented_on,
                    "",
                    *(participation_dates(party_result)[f] for f in PARTICIPATION_DATES),
                )
            )
        now = datetime.combine(self.today, datetime.min.time(), tzinfo=UTC)
        for r in step_rows:
            rows["step"].append((*r[:12], now, now, r[12], None, ""))  # no consent act
        rows["change"].extend(tuple(c) for c in changes)
        for subject_id in subjects:
            rows["agreement_subjects"].append((agreement_id, subject_id))
        for source_id in set(sources_for_agreement):
            rows["agreement_sources"].append((agreement_id, source_id))
        if signed_on:
            for party in parties:
                rows["signatory"].append(
                    (
                        self.next_id("signatory"),
                        agreement_id,
                        party.pk,
                        f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                        rng.choice(ROLES),
                        sources_for_agreement[0] if rng.random() < 0.5 else None,
                    )
                )
        for order in range(1, 4 + int(37 * rng.random() ** 2.5)):
            category = (
                rng.choice(categories)
                if rng.random() < 0.7
                else rng.choice(list(CATEGORY_SENTENCES))
            )
            w1, w2 = rng.sample(WORDS, 2)
            text = CATEGORY_SENTENCES[category].format(
                a=names[0], b=names[1 % len(names)], w1=w1, w2=w2
            )
            rows["provision"].append(
                (
                    self.next_id("provision"),
                    agreement_id,
                    f"Article {order}",
                    category,
                    text,
                    order,
                    None,
                )
            )
        if index > 50 and rng.random() < 0.04:
            target = self.first_agreement_id + rng.randint(0, index - 1)
            rows["relation"].append(
                (
                    self.next_id("relation"),
                    agreement_id,
                    target,
                    rng.choice(["amends", "supersedes", "implements", "related_to"]),
                    "",
                )
            )

    def _date_steps(self, rng, live, done, signed_on, last_on) -> None:
        """Date the first `done` live steps: around signature, ascending, none in the future."""
        if not done:
            return
        today = self.today
        start = (signed_on or today - timedelta(days=rng.randint(30, 400))) - timedelta(
            days=rng.randint(5, 60)
        )
        gaps = [rng.randint(5, 150) for _ in range(done)]
        limit = last_on or today
        span = (limit - start).days
        total = sum(gaps)
        if total > span:
            gaps = [max(0, g * span // total) for g in gaps]
        moment = start
        for step, gap in zip(live[:done], gaps, strict=True):
            if step[0] == "signature" and signed_on:
                moment = max(moment, signed_on)
                step_date = signed_on
            else:
                moment = moment + timedelta(days=gap)
                step_date = min(moment, limit)
            step[2], step[3] = "completed", step_date
        if last_on:
            live[done - 1][3] = max(live[done - 1][3], last_on) if signed_on else last_on

    def _after(self, rng, live, done, signed_on) -> date:
        previous = [s[3] for s in live[:done] if s[3]]
        base = max(previous) if previous else (signed_on or self.today - timedelta(days=30))
        return min(self.today, base + timedelta(days=rng.randint(5, 120)))


# The party's own dates as the services store them (ratification.services.participation_dates).
PARTICIPATION_DATES = (
    "entered_into_force_on",
    "entry_into_force_working",
    "consent_act",
    "consent_act_on",
    "provisionally_applied_on",
    "suspended",
    "suspended_on",
    "withdrawal_notified_on",
    "withdrawn_on",
)

COLUMNS = {
    "agreement": (
        "agreements_agreement",
        "id, slug, title, short_name, kind, summary, signed_on, signed_at, eif_rule, eif_days, "
        "eif_fixed_on, eif_ratifications_required, entered_into_force_on, ended_on, status, "
        "expected_entry_into_force_on, reviewed_on, status_since, derived_revision, version, "
        "created_at, updated_at, listing, facet_keys, cache_stamp, depositary, eif_groups",
    ),
    "participation": (
        "agreements_participation",
        "id, agreement_id, party_id, needs_legislative_approval, progress, consented_on, note, "
        + ", ".join(PARTICIPATION_DATES),
    ),
    "step": (
        "ratification_ratificationstep",
        'id, "order", kind, body, status, date, votes_for, votes_against, votes_abstaining, note, '
        "version, participation_id, created_at, updated_at, source_id, recorded_by_id, "
        "instrument_kind",
    ),
    "change": (
        "ratification_statuschange",
        "id, kind, from_value, to_value, effective_on, detected_at, message, dedupe_key, "
        "agreement_id, party_id, step_id, fanned_out_at",
    ),
    "agreement_subjects": ("agreements_agreement_subjects", "agreement_id, subject_id"),
    "agreement_sources": ("agreements_agreement_sources", "agreement_id, source_id"),
    "signatory": (
        "agreements_signatory",
        "id, agreement_id, party_id, name, role, source_id",
    ),
    "provision": (
        "agreements_provision",
        'id, agreement_id, label, category, text, "order", source_id',
    ),
    "relation": (
        "agreements_relation",
        "id, from_agreement_id, to_agreement_id, kind, note",
    ),
    "source": ("agreements_source", "id, title, url, publisher, published_on, created_at"),
}
TABLES_WITH_IDS = {
    "agreement": "agreements_agreement",
    "participation": "agreements_participation",
    "step": "ratification_ratificationstep",
    "change": "ratification_statuschange",
    "signatory": "agreements_signatory",
    "provision": "agreements_provision",
    "relation": "agreements_relation",
    "source": "agreements_source",
}


class Command(BaseCommand):
    help = "Generate synthetic agreements for benchmarks (PostgreSQL only; COPY, in batches)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--agreements", type=int, default=100_000, help="How many (N).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed.")
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="The date the data is as of (YYYY-MM-DD); default: today.",
        )
        parser.add_argument(
            "--append", action="store_true", help="Allow adding to a database with agreements."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("generate_agreements needs PostgreSQL (it loads with COPY).")
        from agreements.models import Agreement

        if Agreement.objects.exists() and not options["append"]:
            raise CommandError("The database already has agreements; pass --append to add more.")
        today = options["today"] or date.today()
        n = options["agreements"]
        started = time.monotonic()
        gen = Generator(seed=options["seed"], today=today, stdout=self.stdout)
        with connection.cursor() as cursor:
            for key, table in TABLES_WITH_IDS.items():
                cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608  # nosec B608  # table names are the constants above
                gen.ids[key] = cursor.fetchone()[0]
        gen.first_agreement_id = gen.ids["agreement"] + 1
        gen.first_change_id = gen.ids["change"] + 1
        gen.source_count = max(50, n // 5)
        raw = connection.connection
        with raw.cursor() as cur:
            try:
                cur.execute("SET session_replication_role = replica")
            except Exception as exc:
                raw.rollback()
                raise CommandError(
                    "The generator needs a superuser connection (it turns triggers off for its "
                    f"session while loading): {exc}"
                ) from exc
        raw.commit()
        try:
            self._load_sources(raw, gen, today)
            totals: dict[str, int] = {}
            for lo in range(0, n, BATCH):
                rows: dict[str, list[tuple]] = {key: [] for key in COLUMNS}
                for index in range(lo, min(n, lo + BATCH)):
                    gen.agreement(index, rows)
                self._copy(raw, rows)
                for key, items in rows.items():
                    totals[key] = totals.get(key, 0) + len(items)
                done = min(n, lo + BATCH)
                if done % 20_000 == 0 or done == n:
                    self.stdout.write(
                        f"  {done:>8,} agreements  {time.monotonic() - started:6.1f} s", ending="\n"
                    )
        finally:
            with raw.cursor() as cur:
                cur.execute("SET session_replication_role = DEFAULT")
            raw.commit()
        self._finish(raw, gen)
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{key} {count:,}" for key, count in sorted(totals.items()))
        self.stdout.write(
            self.style.SUCCESS(f"Generated {n:,} agreements in {elapsed:.1f} s: {summary}")
        )

    def _load_sources(self, raw, gen: Generator, today: date) -> None:
        rng = random.Random(gen.seed)  # nosec B311  # seeded synthetic data
        publishers = [
            "Ministry of Foreign Affairs",
            "Department of Defense",
            "Official Gazette",
            "Treaty Series",
            "Parliamentary Record",
        ]
        base = gen.ids["source"]
        rows = []
        for i in range(1, gen.source_count + 1):
            published = today - timedelta(days=rng.randint(0, 12000))
            rows.append(
                (
                    base + i,
                    f"{rng.choice(publishers)} document {base + i}",
                    f"https://treaties.example.org/doc/{gen.seed}/{base + i}",
                    rng.choice(publishers),
                    published,
                    datetime.now(UTC),
                )
            )
        self._copy(raw, {"source": rows})
        # Steps, signatories and agreements cite sources by a number from 1: offset it.
        gen.source_count = len(rows)
        if base:
            raise CommandError("--append onto a database with sources is not supported yet.")

    def _copy(self, raw, rows: dict[str, list[tuple]]) -> None:
        with raw.cursor() as cur:
            for key, items in rows.items():
                if not items:
                    continue
                table, columns = COLUMNS[key]
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in items:
                        copy.write_row(row)
        raw.commit()

    def _finish(self, raw, gen: Generator) -> None:
        """Sequences after explicit ids; the search columns, by the search triggers."""
        started = time.monotonic()
        with raw.cursor() as cur:
            for table in [
                *TABLES_WITH_IDS.values(),
                "agreements_agreement_subjects",
                "agreements_agreement_sources",
            ]:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608  # nosec B608  # constant table names
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            # The search columns are the triggers' to fill (agreements migrations 0002, 0003):
            # touching every title fires them once per agreement, after its provisions are in.
            # Rebuilding the GIN index once afterwards is far cheaper than updating it per row.
            search_indexes = {
                "agreement_search_vector_idx": "search_vector",
                "agreement_search_rank_vector_idx": "search_rank_vector",
            }
            for index in search_indexes:
                cur.execute(f"DROP INDEX IF EXISTS {index}")
            cur.execute(
                "UPDATE agreements_agreement SET title = title WHERE id BETWEEN %s AND %s",
                (gen.first_agreement_id, gen.ids["agreement"]),
            )
            for index, column in search_indexes.items():
                cur.execute(f"CREATE INDEX {index} ON agreements_agreement USING gin ({column})")
            # The history is already delivered: any other outbox marker on StatusChange (a
            # nullable "…_at" that a relay fills when it has handled the row) is set like
            # fanned_out_at, or the first worker would relay years of generated history.
            copied = {c.strip() for c in COLUMNS["change"][1].split(",")}
            for field in StatusChange._meta.concrete_fields:
                if (
                    isinstance(field, DateTimeField)
                    and field.null
                    and field.column.endswith("_at")
                    and field.column not in copied
                ):
                    cur.execute(
                        f"UPDATE ratification_statuschange SET {field.column} = detected_at "  # noqa: S608  # nosec B608  # a model column name
                        f"WHERE {field.column} IS NULL AND id BETWEEN %s AND %s",
                        (gen.first_change_id, gen.ids["change"]),
                    )
        raw.commit()
        # The kept list rows, facet keys and counts, by the product's own function.
        listing_rebuild()
        # VACUUM cannot run in a transaction; the connection goes back as Django left it.
        # FULL for the agreements: the load writes every row four times (COPY, the search
        # columns, the list row and keys), which leaves the table about nine times its size
        # (1.4 GB for 148 MB at 100,000). A table grown by years of edits stays near its size,
        # as autovacuum hands the space of old row versions to new ones; a bloated one would
        # make every read that touches many rows slower than production's.
        autocommit = raw.autocommit
        raw.autocommit = True
        with raw.cursor() as cur:
            cur.execute("VACUUM (FULL, ANALYZE) agreements_agreement")
            cur.execute("VACUUM ANALYZE")
        raw.autocommit = autocommit
        self.stdout.write(
            f"  search vectors, list rows, sequences, VACUUM ANALYZE: "
            f"{time.monotonic() - started:.1f} s"
        )
