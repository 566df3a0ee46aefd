"""Webhooks on top of the kommParl change feed: subscriptions, signed batched deliveries, the lease.

`subscriptions` creates, lists and removes them (the write API and the CLI call it), `deliver`
sends what the anonymous feed shows after each subscription's cursor, `lease` makes sure one
process does that at a time, `target` refuses receivers on non-public addresses.
"""
