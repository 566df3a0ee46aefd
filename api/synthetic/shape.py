"""The synthetic council's fixed facts: its calendar, its vocabulary, its documents, how it grows with its size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

START = dt.date(2005, 1, 1)
# Nothing synthetic is created or modified after this moment, whatever the seed and size.
LAST_CHANGE = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)
TERMS = [(dt.date(y, 6, 1), dt.date(y + 5, 5, 31)) for y in range(2003, 2024, 5)]
FIXED_ITEMS = ("Eröffnung und Feststellung der Tagesordnung", "Genehmigung der Niederschrift")
LAST_ITEM = "Mitteilungen und Verschiedenes"
REPORTS = ("Bericht der Verwaltung", "Anfragen der Mitglieder", "Sachstandsbericht", "Einwohnerfragestunde")
PAPER_TYPES = ("Beschlussvorlage", "Mitteilungsvorlage", "Antrag", "Anfrage", "Bericht", "Dringlichkeitsvorlage")
TOPICS = (
    "Radverkehrskonzept",
    "Schulentwicklungsplan",
    "Bebauungsplan",
    "Haushaltssatzung",
    "Kita-Bedarfsplanung",
    "Sanierung der Sporthalle",
    "Klimaschutzkonzept",
    "Straßenausbaubeitrag",
    "Wohnraumförderung",
    "Friedhofssatzung",
    "Brandschutzbedarfsplan",
    "ÖPNV-Anbindung",
    "Stadtbibliothek",
    "Baumschutzsatzung",
    "Jahresabschluss",
    "Hafenentwicklung",
    "Digitalisierungsstrategie",
    "Seniorenbeirat",
    "Parkraumkonzept",
)
PLACES = (
    "Innenstadt",
    "St. Lorenz Nord",
    "St. Jürgen",
    "Moisling",
    "Buntekuh",
    "Travemünde",
    "Kücknitz",
    "Schlutup",
    "St. Gertrud",
    "Eichholz",
    "Marli",
    "Hochschulstadtteil",
)
VERBS = ("Beschluss über", "Fortschreibung", "Umsetzung", "Änderung", "Sachstand", "Prüfauftrag zu", "Förderung")
COMMITTEE_TOPICS = (
    "Bauausschuss",
    "Hauptausschuss",
    "Finanzausschuss",
    "Jugendhilfeausschuss",
    "Schul- und Sportausschuss",
    "Kulturausschuss",
    "Sozialausschuss",
    "Umweltausschuss",
    "Wirtschaftsausschuss",
    "Verkehrsausschuss",
    "Ausschuss für Digitalisierung",
    "Werkausschuss",
)
FRACTIONS = ("SPD", "CDU", "GRÜNE", "FDP", "DIE LINKE", "Freie Wähler")
GIVEN = ("Anna", "Jonas", "Fatma", "Klaus", "Mette", "Ole", "Sabine", "Yusuf", "Ingrid", "Lars", "Merve", "Heike")
FAMILY = ("Petersen", "Schröder", "Yılmaz", "Hansen", "Wulf", "Kowalski", "Meyer", "Nguyen", "Jensen", "Brandt")
RESULTS = ("ungeändert beschlossen", "geändert beschlossen", "zur Kenntnis genommen", "vertagt", "abgelehnt")
ROOMS = ("Bürgerschaftssaal", "Audienzsaal", "Kriegsstubensaal", "Sitzungsraum 1", "Sitzungsraum 2")
ADDRESS = ("Breite Straße 62", "23552", "Lübeck")


@dataclass(frozen=True)
class Size:
    papers: int

    @property
    def committees(self) -> int:
        # Agenda slots to spare for ~3.5 consultations per paper over about 21 years.
        return max(6, -(-self.papers // 2000))

    @property
    def meeting_gap(self) -> int:
        """Fewest days between two meetings of one committee: as often as its share of ~3.5
        consultations per paper needs (about 15 of a meeting's slots go to papers), from
        fortnightly in a big council to yearly in a tiny one."""
        meetings = 3.5 * self.papers / ((self.committees + 1) * 15)
        span = (LAST_CHANGE.date() - START).days
        return int(min(365, max(14, span / max(meetings, 1.0) / 1.25)))

    @property
    def persons(self) -> int:
        return max(60, self.papers // 250)


def local(day: dt.date, tz: ZoneInfo, hour: int = 9, minute: int = 0) -> dt.datetime:
    """`day` at `hour`:`minute` in the council's time zone, as a UTC moment."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(dt.UTC)


def pdf(seed: int, n: int) -> bytes:
    """A small valid one-page PDF naming the synthetic document it stands for."""
    text = f"Synthetisches Dokument {n} (seed {seed})".encode("latin-1")
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
