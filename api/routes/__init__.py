"""HTTP routes: the OParl read API and file contents."""

from api.routes import feed, files, lists, objects, upload, write

# The upload before the write API, whose `/{segment}/{key:path}` would take `file/<key>/content` for a key.
# The feed before the lists, whose `/body/{id}/{list}` would take `body/{id}/changes`.
ROUTERS = (feed.router, files.router, lists.router, objects.router, upload.router, write.router)
