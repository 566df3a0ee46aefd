"""A synthetic council of any size, deterministic from a seed, for benchmarks and scale tests.

The council is simulated meeting by meeting (`simulation`): each meeting's agenda takes the
papers waiting for its committee first and new papers after, and a paper moves on through its
Beratungsfolge (1–6 consultations, the last one deciding) to other committees. So every row is
written after the rows it references, and the generator streams: memory stays flat at a million
papers. Rows go in with bulk inserts (`rows`), not through the write path (`oparl.load`), which
checks and cascades one record at a time; `oparl-server generate` renders them afterwards
(`Snapshots.refresh_stale`). New papers are paced evenly over the years the council runs
(`shape`), so every year has its share of papers, meetings and files.
"""

from api.synthetic.generator import Generator
from api.synthetic.rows import Counts
from api.synthetic.shape import LAST_CHANGE

__all__ = ["LAST_CHANGE", "Counts", "Generator"]
