"""Harvesting other OParl servers. `harvest.py` walks a source (System → Bodies → lists → fix-up);
`lists.py` reads a list page by page, `store.py` stores each batch in one transaction, `source.py`
keeps the source's bookkeeping across runs, `summary.py` says what a run reports and takes;
below them `client.py` (polite, guarded by `guard.py`), `quirks.py` and `convert.py`."""
