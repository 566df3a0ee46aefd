"""The write path: records into the tables (`Loader`), with what one write did (`ChangeLog`)."""

from oparl.load.changelog import ChangeLog, LoadReport
from oparl.load.loader import Loader
from oparl.load.references import stable_id

__all__ = ["ChangeLog", "LoadReport", "Loader", "stable_id"]
