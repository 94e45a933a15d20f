"""The notice period's rules held by PostgreSQL itself (agreements migration 0010 adds the check
constraints there only; SQLite relies on the model validation every service runs)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from agreements.models import Agreement
from tests.factories import AgreementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.mark.parametrize(
    "values",
    [
        {"notice_period_days": 180, "notice_period_months": 6},
        {"notice_period_days": 0},
        {"notice_period_months": 0},
    ],
)
def test_the_database_refuses_a_notice_period_the_model_refuses(values):
    agreement = AgreementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=agreement.pk).update(**values)


def test_the_database_takes_days_or_months():
    agreement = AgreementFactory()
    Agreement.objects.filter(pk=agreement.pk).update(notice_period_days=180)
    Agreement.objects.filter(pk=agreement.pk).update(
        notice_period_days=None, notice_period_months=12
    )
    agreement.refresh_from_db()
    assert (agreement.notice_period_days, agreement.notice_period_months) == (None, 12)
