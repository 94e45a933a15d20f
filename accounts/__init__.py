"""Accounts: API tokens, and the plumbing every API endpoint shares.

This app departs from DESIGN.md's three apps (parties, agreements, ratification). It holds what
is about *who calls the API and how*, not about the domain: hashed API tokens (model, admin,
`create_token` command), token authentication, the editor permission, throttles, and the shared
API conventions in `apikit` (error format, pagination, JSON body limits, CSV, ETag / If-Match).

It deliberately imports none of the domain apps, so that they can import it: the dependency
order is accounts ← parties ← agreements ← ratification ← pacttracker.
"""
