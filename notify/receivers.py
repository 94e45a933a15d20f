"""What this app does when the domain below it sends a signal (connected in NotifyConfig.ready).

Receivers only call this app's services; the rules are there."""

from __future__ import annotations

from typing import Any

from agreements.models import Agreement

from .follows import follows_move
from .webhooks import subscriptions_move


def agreement_merging(*, survivor: Agreement, duplicate: Agreement, **kwargs: Any) -> None:
    """ratification.signals.agreement_merging: follows and webhooks move to the survivor."""
    follows_move(from_agreement=duplicate, to_agreement=survivor)
    subscriptions_move(from_agreement=duplicate, to_agreement=survivor)
