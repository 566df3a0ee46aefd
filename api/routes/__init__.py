"""HTTP routes: the OParl read API and file contents."""

from api.routes import files, lists, objects, write

ROUTERS = (files.router, lists.router, objects.router, write.router)
