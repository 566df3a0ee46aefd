"""Who publishes the data and under which licence: the operator's configuration, not the records.

Shown on the System and every Body where the record names none (OParl 1.1: `license`,
`contactEmail`, `contactName`, `website`; kommParl's precedence File > object > Body > System),
and used by the open-data catalogue (oparl/distribution/dcat.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# The DCAT-AP.de licence vocabulary (http://dcat-ap.de/def/licenses/): licences whose terms
# require naming the source, so the catalogue must carry dcatde:licenseAttributionByText.
LICENSES = "http://dcat-ap.de/def/licenses/"
ATTRIBUTION_REQUIRED = frozenset(
    LICENSES + name for name in ("dl-by-de/2.0", "cc-by/4.0", "cc-by-sa/4.0", "cc-by-de/3.0", "cc-by/3.0")
)


@dataclass(frozen=True)
class Publisher:
    license: str | None = None
    # The attribution text where the licence needs one ("Hansestadt Lübeck, Ratsinformationen").
    attribution: str | None = None
    name: str | None = None
    website: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None

    @property
    def key(self) -> str:
        """Part of the stored renderings' key: another configuration renders System and Bodies anew."""
        fields = (self.license, self.attribution, self.name, self.website, self.contact_name, self.contact_email)
        return "\x1f".join(value or "" for value in fields)


NO_PUBLISHER = Publisher()
