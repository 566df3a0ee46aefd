"""The kommParl 0.1 change feed and snapshot of each Body (../shared/docs/kommparl-notes.md).

`record` appends a write's entries in the write's transaction, `read` serves feed pages, `cursor`
makes and checks cursors, `snapshot` streams a Body's public objects, `prune` ends retention.
"""

DRAFT = "https://schema.kommparl.de/0.1/"
PROFILE_CHANGES = DRAFT + "profile/changes"
PROFILE_SNAPSHOT = DRAFT + "profile/snapshot"
# System["kommparl:conformsTo"]: the draft and every profile this server meets in full.
CONFORMS_TO = (DRAFT, PROFILE_CHANGES, PROFILE_SNAPSHOT)
