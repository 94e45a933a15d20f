"""What the domain keeps when rows of the apps below it change (connected in apps.ready).

A clock rule added or changed (in the admin, or by load_calendars) starts or stops other clocks
than before: its kept started clocks (StartedClock) are recomputed in the same transaction. A
rule deleted takes its rows with it (CASCADE). Fixture loading (raw) is left alone: the rows'
own fixtures, or started_clocks_rebuild, bring them.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from parties.models import ClockRule

from .clocks import started_clocks_refresh_rule


@receiver(post_save, sender=ClockRule, dispatch_uid="ratification.started_clocks_rule")
def clock_rule_saved(sender, instance: ClockRule, raw: bool = False, **kwargs) -> None:
    if not raw:
        started_clocks_refresh_rule(rule=instance)
