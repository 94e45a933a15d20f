"""Signals the domain sends for the apps above it, which it never imports.

`agreement_merging` is sent by ratification.merging.agreement_merge inside its transaction,
after the duplicate's own parts have moved and before the duplicate is deleted, with
`survivor` and `duplicate` (Agreement rows). Receivers move what they keep per agreement (notify:
follows and webhook subscriptions) from the duplicate to the survivor; a receiver that raises
undoes the whole merge. Sent with send(), not send_robust(), for that reason.
"""

from django.dispatch import Signal

agreement_merging = Signal()
