"""Full-text search per Body (issue 15): one German analysis step, two engines (SQLite FTS5,
PostgreSQL tsvector), an index kept in step by the write path. See oparl/search/README in
ARCHITECTURE.md ("Search")."""
