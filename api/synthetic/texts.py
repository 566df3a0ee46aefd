"""Document text for the synthetic council's files: German administrative prose about the paper's
subject, so the search benchmark indexes and finds something real (the PDF bytes stay stand-ins).

Deterministic from the seed and the file's id, and drawn from a generator of its own, so adding
texts changes nothing else the seed makes.
"""

from __future__ import annotations

import random

SENTENCES = (
    "Die Verwaltung legt den Entwurf zum Thema {topic} im Stadtteil {place} zur Beratung vor.",
    "Der Ausschuss wird gebeten, die Vorlage zur Kenntnis zu nehmen und der Bürgerschaft die Umsetzung zu empfehlen.",
    "Die Maßnahme ist im Haushaltsplan {year} unter dem Produkt {product} veranschlagt.",
    "Finanzielle Auswirkungen: Es entstehen Kosten in Höhe von {amount} Euro, die aus Fördermitteln gedeckt werden.",
    "Im Rahmen der Öffentlichkeitsbeteiligung gingen {count} Stellungnahmen von Bürgerinnen und Bürgern ein.",
    "Die Stellungnahme des Seniorenbeirats sowie des Beirats für Menschen mit Behinderungen ist beigefügt.",
    "Auswirkungen auf den Klimaschutz: Die Maßnahme senkt den Energieverbrauch der Liegenschaft deutlich.",
    "Die Beteiligung von Kindern und Jugendlichen gemäß Gemeindeordnung ist erfolgt.",
    "Nach Abschluss der Ausschreibung soll die Vergabe im {quarter}. Quartal {year} erfolgen.",
    "Der Bauabschnitt {count} umfasst die Erneuerung der Gehwege, der Straßenbeleuchtung und der Radwege.",
    "Die Fraktion bittet die Verwaltung um einen Sachstandsbericht zur {topic} bis zur nächsten Sitzung.",
    "Die Prüfung durch das Rechnungsprüfungsamt hat keine Beanstandungen ergeben.",
    "Für {place} wird ein Quartiersmanagement mit zwei Vollzeitstellen vorgeschlagen.",
    "Die Denkmalpflege hat der Planung unter Auflagen zugestimmt.",
    "Der Entwurf berücksichtigt die Ergebnisse der Bürgerwerkstatt vom Frühjahr {year}.",
    "Die Kostenschätzung beruht auf den Ausschreibungsergebnissen vergleichbarer Vorhaben.",
    "Ein Verkehrsgutachten zur Leistungsfähigkeit der Knotenpunkte liegt als Anlage bei.",
    "Die Schulentwicklung sieht für {place} eine zusätzliche Grundschule mit Ganztagsbetreuung vor.",
    "Die Niederschrift der Sitzung wurde ohne Änderungen genehmigt.",
    "Der Sozialbericht weist für {place} einen überdurchschnittlichen Anteil an Transferleistungen aus.",
    "Die Wirtschaftsförderung unterstützt ansässige Handwerksbetriebe bei der Standortsicherung.",
    "Eine Anpassung der Gebührensatzung ist nach dem Kommunalabgabengesetz erforderlich.",
    "Die Barrierefreiheit der Haltestellen wird im Zuge der Sanierung hergestellt.",
    "Die Feuerwehr bewertet den Brandschutz des Gebäudes als dringend verbesserungsbedürftig.",
)


def document_text(seed: int, file_id: int, name: str, subject: str, places: tuple[str, ...]) -> str:
    """The text of one file: its heading and a paragraph of five to twelve sentences about `subject`."""
    rng = random.Random(seed * 1_000_003 + file_id)
    topic = subject.split(" ", 1)[-1] if " " in subject else subject
    values = {
        "topic": topic,
        "place": rng.choice(places),
        "year": rng.randint(2005, 2026),
        "product": f"{rng.randint(1, 9)}.{rng.randint(10, 99)}.{rng.randint(10, 99)}",
        "amount": f"{rng.randint(5, 2500) * 1000:,}".replace(",", "."),
        "count": rng.randint(2, 40),
        "quarter": rng.randint(1, 4),
    }
    sentences = [s.format(**values) for s in rng.sample(SENTENCES, rng.randint(5, 12))]
    return f"{name}: {subject}\n\n" + " ".join(sentences)
