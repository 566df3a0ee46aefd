"""HTTP routes: the OParl read API and file contents."""

from api.routes import distribution, files, lists, objects, upload, write

# The upload before the write API, whose `/{segment}/{key:path}` would take `file/<key>/content` for a key.
# Calendars, feeds and catalogues before the lists, whose `/body/{id}/{list}` would take `calendar.ics`.
ROUTERS = (distribution.router, files.router, lists.router, objects.router, upload.router, write.router)
