"""The OParl 1.1 wire format: serialisation, URLs, lists, filters and loading."""
