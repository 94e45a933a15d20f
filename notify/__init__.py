"""Telling people and tools about changes: the outbox relays, webhook subscriptions and their
deliveries (models, API, delivery task), follows and their emails, and the Atom feeds.

The domain writes StatusChange rows (the outbox) and queues this app's relays by task name after
commit; it never imports this app. This app imports the domain.
"""
