"""Reference data: every ISO 3166-1 state (from pycountry), a few organisations, and the default
ratification procedures of the parties the demo data needs, plus the generic default.

Procedures are data: editors change them in the admin. Reversing removes only what this added.
"""

from django.db import migrations

ORGANISATIONS = [
    ("EU", "European Union", "European Union"),
    ("ASEAN", "ASEAN", "Association of Southeast Asian Nations"),
    ("NATO", "NATO", "North Atlantic Treaty Organization"),
    ("UN", "United Nations", "United Nations"),
]

# (order, kind, body, legislative, note). `legislative` steps are only needed when the agreement
# needs the legislature's approval (a treaty rather than an executive agreement).
PROCEDURES = {
    "JP": [
        (1, "cabinet_approval", "Cabinet", False, "Cabinet decision to sign."),
        (2, "signature", "", False, ""),
        (3, "submission_to_legislature", "National Diet", True, ""),
        (4, "legislative_approval", "House of Representatives", True, ""),
        (5, "legislative_approval", "House of Councillors", True, ""),
        (
            6,
            "exchange_of_notes",
            "Ministry of Foreign Affairs",
            False,
            "Notes confirm that domestic procedures are complete.",
        ),
    ],
    "PH": [
        (1, "signature", "", False, ""),
        (2, "executive_ratification", "President", False, ""),
        (
            3,
            "legislative_approval",
            "Senate",
            True,
            "Concurrence of at least two thirds of all senators (Constitution, Art. VII sec. 21); "
            "executive agreements need none.",
        ),
        (4, "exchange_of_notes", "Department of Foreign Affairs", False, ""),
    ],
    "US": [
        (1, "signature", "", False, ""),
        (2, "submission_to_legislature", "Senate", True, ""),
        (3, "committee_review", "Senate Foreign Relations Committee", True, ""),
        (4, "legislative_approval", "Senate", True, "Advice and consent by two thirds."),
        (5, "executive_ratification", "President", False, ""),
        (6, "exchange_of_notes", "Department of State", False, "Or deposit of the instrument."),
    ],
    "GB": [
        (1, "signature", "", False, ""),
        (
            2,
            "submission_to_legislature",
            "Parliament",
            True,
            "Laid before Parliament for 21 sitting days (Constitutional Reform and Governance Act "
            "2010, Part 2).",
        ),
        (3, "executive_ratification", "Government", False, ""),
        (4, "exchange_of_notes", "Foreign, Commonwealth and Development Office", False, ""),
    ],
    "AU": [
        (1, "cabinet_approval", "Federal Executive Council", False, "Approval to sign."),
        (2, "signature", "", False, ""),
        (
            3,
            "submission_to_legislature",
            "Parliament",
            True,
            "Tabled with a National Interest Analysis.",
        ),
        (4, "committee_review", "Joint Standing Committee on Treaties", True, ""),
        (5, "cabinet_approval", "Federal Executive Council", False, "Approval to ratify."),
        (6, "exchange_of_notes", "Department of Foreign Affairs and Trade", False, ""),
    ],
    "EU": [
        (1, "cabinet_approval", "Council of the European Union", False, "Decision on signature."),
        (2, "signature", "", False, ""),
        (3, "legislative_approval", "European Parliament", True, "Consent."),
        (4, "cabinet_approval", "Council of the European Union", False, "Decision on conclusion."),
        (
            5,
            "exchange_of_notes",
            "European External Action Service",
            False,
            "Notification that the Union's procedures are complete.",
        ),
    ],
    None: [
        (1, "signature", "", False, ""),
        (2, "legislative_approval", "Legislature", True, "Where the constitution requires it."),
        (3, "executive_ratification", "Head of state or government", False, ""),
        (4, "exchange_of_notes", "", False, "Or deposit of the instrument."),
    ],
}


def add_reference_data(apps, schema_editor):
    import pycountry

    Party = apps.get_model("parties", "Party")
    ProcedureStep = apps.get_model("parties", "ProcedureStep")
    states = [
        Party(
            code=country.alpha_2,
            name=getattr(country, "common_name", None) or country.name,
            official_name=getattr(country, "official_name", "") or country.name,
            kind="state",
        )
        for country in pycountry.countries
    ]
    organisations = [
        Party(code=code, name=name, official_name=official, kind="organisation")
        for code, name, official in ORGANISATIONS
    ]
    Party.objects.bulk_create(states + organisations, ignore_conflicts=True)
    by_code = {p.code: p for p in Party.objects.filter(code__in=[c for c in PROCEDURES if c])}
    ProcedureStep.objects.bulk_create(
        [
            ProcedureStep(
                party=by_code[code] if code else None,
                order=order,
                kind=kind,
                body=body,
                legislative=legislative,
                note=note,
            )
            for code, steps in PROCEDURES.items()
            for order, kind, body, legislative, note in steps
        ]
    )


def remove_reference_data(apps, schema_editor):
    Party = apps.get_model("parties", "Party")
    ProcedureStep = apps.get_model("parties", "ProcedureStep")
    ProcedureStep.objects.all().delete()
    Party.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("parties", "0001_initial")]

    operations = [migrations.RunPython(add_reference_data, remove_reference_data)]
