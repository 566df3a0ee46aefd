"""The DCAT-AP.de 3.0 catalogue of a System or a Body, built with rdflib.

Per Body three datasets (papers, meetings, organizations, as the one platform publishing such a
catalogue does), each with a distribution for its OParl list (served by a dcat:DataService whose
endpoint is the System), the meetings' calendar, the papers' Atom feed, and the Body's kommParl
snapshot and change feed where its rendering names them. Political geocoding from the Body's
AGS. Every node is an IRI (no blank nodes) and the graph is built in a fixed order, so a
serialisation is byte-stable while the data does not change. No dataset is listed without a
licence (DCAT-AP.de: a publisher without one should not be in a catalogue at all); the catalogue
then says why it is empty. No personal data: persons are not a dataset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from oparl.base import SCHEMA_BASE
from oparl.distribution.formats import SERIALISATIONS
from oparl.publisher import ATTRIBUTION_REQUIRED, Publisher

DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
DCATAP = Namespace("http://data.europa.eu/r5r/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
GOVE = URIRef(EU + "data-theme/GOVE")
CONTINUOUS = URIRef(EU + "frequency/UPDATE_CONT")
STABLE = URIRef(EU + "planned-availability/STABLE")
IANA = "https://www.iana.org/assignments/media-types/"
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
# AGS length -> (level, key vocabulary): 8 digits a municipality, 5 a district, 2 a state.
AGS_LEVELS = {
    8: ("municipality", "municipalityKey"),
    5: ("administrativeDistrict", "districtKey"),
    2: ("state", "stateKey"),
}
FORMATS = {  # media type -> dct:format (EU file types where one exists, else the IANA type)
    "application/json": URIRef(EU + "file-type/JSON"),
    "application/atom+xml": URIRef(EU + "file-type/ATOM"),
    "text/calendar": URIRef(IANA + "text/calendar"),
    "application/x-ndjson": URIRef(IANA + "application/x-ndjson"),
}


@dataclass(frozen=True)
class Access:
    """One way to get a dataset: a distribution."""

    key: str
    title: str
    url: str
    media_type: str
    conforms_to: str | None = None
    via_api: bool = False


@dataclass(frozen=True)
class Dataset:
    key: str  # "papers", "meetings", "organizations"
    title: str
    description: str
    keywords: tuple[str, ...]
    accesses: tuple[Access, ...]
    modified: dt.datetime | None
    period: tuple[dt.date, dt.date] | None


@dataclass(frozen=True)
class BodyData:
    body: dict[str, Any]  # the Body as served
    catalogue_url: str
    datasets: tuple[Dataset, ...]


def _date(value: dt.date | dt.datetime) -> Literal:
    if isinstance(value, dt.datetime):
        return Literal(value.isoformat(timespec="seconds"), datatype=XSD.dateTime)
    return Literal(value.isoformat(), datatype=XSD.date)


class CatalogueGraph:
    """Adds the catalogue's triples in a fixed order; `graph` holds them."""

    def __init__(self, url: str, system: dict[str, Any], publisher: Publisher) -> None:
        self.graph, self.url, self.system, self.publisher = Graph(), url, system, publisher
        for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("dcatde", DCATDE),
                           ("dcatap", DCATAP), ("vcard", VCARD)):  # fmt: skip
            self.graph.bind(prefix, ns)
        self.node = URIRef(url)
        self.agent = URIRef(f"{url}#publisher")
        self.service = URIRef(f"{url}#oparl-api")

    def add(self, subject: URIRef, predicate: URIRef, value: URIRef | Literal | str) -> None:
        # URIRef is a str too: only plain strings become German literals.
        node = value if isinstance(value, URIRef | Literal) else Literal(value, lang="de")
        self.graph.add((subject, predicate, node))

    def catalogue(self, bodies: list[BodyData]) -> None:
        name = self.system.get("name") or "OParl-Ratsinformationen"
        self.add(self.node, RDF.type, DCAT.Catalog)
        self.add(self.node, DCTERMS.title, f"{name}: offene Ratsdaten")
        description = f"Datensätze der Ratsinformationen ({', '.join(b.body['name'] for b in bodies)}) über OParl 1.1."
        if self.publisher.license is None:
            description = ("Dieser Katalog enthält keine Datensätze: der Betreiber hat keine Lizenz für die Daten "
                           "festgelegt (Einstellung OPARL_LICENSE).")  # fmt: skip
        self.add(self.node, DCTERMS.description, description)
        self.add(self.node, DCTERMS.publisher, self.agent)
        self.add(self.node, FOAF.homepage, URIRef(self.system.get("website") or self.system["id"]))
        self._agent(bodies[0].body["name"] if len(bodies) == 1 else name)
        if self.publisher.license is None:
            return
        self.add(self.node, DCTERMS.license, URIRef(self.publisher.license))
        self._service()
        for data in bodies:
            for dataset in data.datasets:
                self._dataset(data, dataset)

    def _agent(self, fallback: str) -> None:
        self.add(self.agent, RDF.type, FOAF.Agent)
        self.add(self.agent, FOAF.name, self.publisher.name or fallback)
        if self.publisher.website:
            self.add(self.agent, FOAF.homepage, URIRef(self.publisher.website))

    def _service(self) -> None:
        self.add(self.service, RDF.type, DCAT.DataService)
        self.add(self.service, DCTERMS.title, "OParl-Schnittstelle")
        self.add(self.service, DCAT.endpointURL, URIRef(self.system["id"]))
        self.add(self.service, DCTERMS.conformsTo, URIRef(SCHEMA_BASE))
        self.add(self.service, DCTERMS.publisher, self.agent)
        self.add(self.service, DCTERMS.license, URIRef(self.publisher.license or ""))

    def _contact(self, body: dict[str, Any]) -> URIRef:
        """Whom to ask: the configured contact, else the Body's or System's, else the Body and its website."""
        email = self.publisher.contact_email or body.get("contactEmail") or self.system.get("contactEmail")
        name = self.publisher.contact_name or body.get("contactName") or self.system.get("contactName")
        contact = URIRef(f"{self.url}#contact-{body['id'].rsplit('/', 1)[-1]}")
        self.add(contact, RDF.type, VCARD.Organization)
        self.add(contact, VCARD.fn, name or body["name"])
        if email:
            self.add(contact, VCARD.hasEmail, URIRef(f"mailto:{email}"))
        website = body.get("website") or self.publisher.website
        if website:
            self.add(contact, VCARD.hasURL, URIRef(website))
        return contact

    def _dataset(self, data: BodyData, dataset: Dataset) -> None:
        body = data.body
        node = URIRef(f"{data.catalogue_url}#{dataset.key}")
        self.add(self.node, DCAT.dataset, node)
        for predicate, value in (
            (RDF.type, DCAT.Dataset), (DCTERMS.identifier, Literal(str(node))),
            (DCTERMS.title, f"{dataset.title} – {body['name']}"), (DCTERMS.description, dataset.description),
            (DCTERMS.publisher, self.agent), (DCAT.theme, GOVE), (DCTERMS.accrualPeriodicity, CONTINUOUS),
            (DCATAP.availability, STABLE), (DCAT.landingPage, URIRef(body.get("web") or body["id"])),
        ):  # fmt: skip
            self.add(node, predicate, value)
        for keyword in dataset.keywords:
            self.add(node, DCAT.keyword, keyword)
        if dataset.modified is not None:
            self.add(node, DCTERMS.modified, _date(dataset.modified))
        self._geocoding(node, body.get("ags"))
        self.add(node, DCAT.contactPoint, self._contact(body))
        if dataset.period is not None:
            period = URIRef(f"{node}-period")
            self.add(period, RDF.type, DCTERMS.PeriodOfTime)
            self.add(period, DCAT.startDate, _date(dataset.period[0]))
            self.add(period, DCAT.endDate, _date(dataset.period[1]))
            self.add(node, DCTERMS.temporal, period)
        for access in dataset.accesses:
            self._distribution(node, access, dataset.modified)

    def _geocoding(self, node: URIRef, ags: str | None) -> None:
        digits = (ags or "").strip()
        if not digits.isdigit() or len(digits) not in AGS_LEVELS:
            return
        level, vocabulary = AGS_LEVELS[len(digits)]
        place = URIRef(f"{GEOCODING}{vocabulary}/{digits}")
        self.add(node, DCATDE.politicalGeocodingLevelURI, URIRef(f"{GEOCODING}Level/{level}"))
        self.add(node, DCATDE.politicalGeocodingURI, place)
        self.add(node, DCTERMS.spatial, place)

    def _distribution(self, dataset: URIRef, access: Access, modified: dt.datetime | None) -> None:
        node = URIRef(f"{dataset}-{access.key}")
        license_uri = self.publisher.license or ""
        self.add(dataset, DCAT.distribution, node)
        for predicate, value in (
            (RDF.type, DCAT.Distribution), (DCTERMS.title, access.title), (DCAT.accessURL, URIRef(access.url)),
            (DCAT.downloadURL, URIRef(access.url)), (DCTERMS.license, URIRef(license_uri)),
            (DCTERMS.format, FORMATS[access.media_type]), (DCAT.mediaType, URIRef(IANA + access.media_type)),
            (DCATAP.availability, STABLE),
        ):  # fmt: skip
            self.add(node, predicate, value)
        if modified is not None:
            self.add(node, DCTERMS.modified, _date(modified))
        if access.conforms_to:
            self.add(node, DCTERMS.conformsTo, URIRef(access.conforms_to))
        if access.via_api:
            self.add(node, DCAT.accessService, self.service)
        if license_uri in ATTRIBUTION_REQUIRED and self.publisher.attribution:
            self.add(node, DCATDE.licenseAttributionByText, self.publisher.attribution)


def serialise(graph: Graph, extension: str) -> bytes:
    form, _ = SERIALISATIONS[extension]
    if form == "turtle":
        return graph.serialize(format="turtle", encoding="utf-8")
    # RDF/XML and JSON-LD follow the store's order; a fresh graph filled in sorted order makes it fixed.
    ordered = Graph()
    for prefix, ns in graph.namespaces():
        ordered.bind(prefix, ns, override=True)
    for triple in sorted(graph):
        ordered.add(triple)
    if form == "json-ld":
        return ordered.serialize(format=form, encoding="utf-8", sort_keys=True)
    return ordered.serialize(format=form, encoding="utf-8")
