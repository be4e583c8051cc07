"""How each kind of outbound message becomes an email.

Apps above automations (community: newsletters, event invitations) register a
renderer for their kinds in AppConfig.ready(); the sender looks the kind up here
when it sends a row, and adds the shop footer, unsubscribe and profile links itself.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from automations.models import OutboundMessage


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str
    # (filename, content, mimetype), e.g. ("event.ics", b"...", "text/calendar")
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


Renderer = Callable[[OutboundMessage], RenderedEmail]

_renderers: dict[str, Renderer] = {}
# Kinds the customer asked for themselves (confirm a change, a new profile link): they go to the address
# on the row (perhaps a new one), with or without marketing consent, at once (no quiet hours, no cap).
_transactional: set[str] = set()


def register_renderer(kind: str, renderer: Renderer, *, transactional: bool = False) -> Renderer:
    _renderers[kind] = renderer
    if transactional:
        _transactional.add(kind)
    return renderer


def is_transactional(kind: str) -> bool:
    return kind in _transactional


def renderer_for(kind: str) -> Renderer | None:
    return _renderers.get(kind)
