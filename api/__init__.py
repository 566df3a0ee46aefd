"""HTTP application and command line of the OParl server."""
