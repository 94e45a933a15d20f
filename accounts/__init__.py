"""Accounts: who may call the site and the API, and what they did.

Hashed API tokens (model, admin, `create_token` command) and their authentication class, the
sign-in cap per address, and the audit log. It imports no other app of ours; the API conventions
every endpoint shares are in `apikit`, and follows (with their emails) in `notify`.
"""
