"""HTTP routes: the OParl read API and file contents."""

from api.routes import distribution, feed, files, lists, manifest, objects, upload, webhooks, write

# The upload and webhooks before the write API, whose `/{segment}/{key:path}` would take
# `file/<key>/content` for a key, and `webhooks/<id>` for a type.
# The feed, manifest, calendars, feeds and catalogues before the lists, whose `/body/{id}/{list}`
# would take `body/{id}/changes` or `body/{id}/calendar.ics`.
ROUTERS = (
    distribution.router,
    feed.router,
    manifest.router,
    files.router,
    lists.router,
    objects.router,
    upload.router,
    webhooks.router,
    write.router,
)
