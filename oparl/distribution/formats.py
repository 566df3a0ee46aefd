"""The catalogue's serialisations by file extension: rdflib's format name and the media type.

Apart from oparl.distribution.dcat, so a route can know them without importing rdflib (loaded on
the first catalogue request instead: oparl.distribution.build)."""

SERIALISATIONS = {"ttl": ("turtle", "text/turtle"), "rdf": ("xml", "application/rdf+xml"),
                  "jsonld": ("json-ld", "application/ld+json")}  # fmt: skip
