"""Relational storage of OParl objects: the registry of every mapped class."""

from models.agenda_item import AgendaItem
from models.audit import WriteAudit
from models.base import Base, BodyScoped, OParlObject, utcnow
from models.body import Body
from models.consultation import Consultation
from models.content import FileChunk, FileContent
from models.feed import FeedEntry, FeedState
from models.file import File
from models.generation import ListGeneration
from models.harvest import HarvestPending, HarvestSeen, HarvestSource
from models.legislative_term import LegislativeTerm
from models.location import Location
from models.meeting import Meeting
from models.membership import Membership
from models.organization import Organization
from models.paper import Paper
from models.person import Person
from models.search import SearchEntry
from models.system import System
from models.token import ApiToken
from models.webhook import WebhookDelivery, WebhookLease, WebhookSubscription

__all__ = [
    "AgendaItem",
    "ApiToken",
    "Base",
    "Body",
    "BodyScoped",
    "Consultation",
    "FeedEntry",
    "FeedState",
    "File",
    "FileChunk",
    "FileContent",
    "HarvestPending",
    "HarvestSeen",
    "HarvestSource",
    "LegislativeTerm",
    "ListGeneration",
    "Location",
    "Meeting",
    "Membership",
    "OParlObject",
    "Organization",
    "Paper",
    "Person",
    "SearchEntry",
    "System",
    "WebhookDelivery",
    "WebhookLease",
    "WebhookSubscription",
    "WriteAudit",
    "utcnow",
]
