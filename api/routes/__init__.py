"""HTTP routes: the OParl read API and file contents."""

from api.routes import distribution, feed, files, lists, manifest, objects, search, upload, webhooks, write

# The upload and webhooks before the write API, whose `/{segment}/{key:path}` would take
# `file/<key>/content` for a key, and `webhooks/<id>` for a type.
# The feed, manifest, calendars, feeds and catalogues before the lists, whose `/body/{id}/{list}`
# would take `body/{id}/changes`, `body/{id}/calendar.ics` or `body/{id}/search`.
ROUTERS = (
    distribution.router,
    search.router,
    feed.router,
    manifest.router,
    files.router,
    lists.router,
    objects.router,
    upload.router,
    webhooks.router,
    write.router,
)
