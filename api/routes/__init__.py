"""HTTP routes: the OParl read API and file contents."""

from api.routes import files, lists, objects, upload, write

# The upload before the write API, whose `/{segment}/{key:path}` would take `file/<key>/content` for a key.
ROUTERS = (files.router, lists.router, objects.router, upload.router, write.router)
