"""Harvesting other OParl servers: a polite client, vendor-quirk normalisers, the walk."""
