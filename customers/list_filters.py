"""Filters other apps add to the customer list (e.g. community's saved segments).

customers never imports those apps: they register here in AppConfig.ready().
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet


@dataclass(frozen=True)
class ListFilterExtension:
    name: str  # the query-string key, e.g. "segment"
    empty_label: str  # e.g. "Any segment"
    choices: Callable[[], list[tuple[str, str]]]  # one query at most
    apply: Callable[[QuerySet, str], QuerySet]  # filter the list by the chosen value


_extensions: dict[str, ListFilterExtension] = {}


def register_list_filter(extension: ListFilterExtension) -> ListFilterExtension:
    _extensions[extension.name] = extension
    return extension


def list_filter_extensions() -> list[ListFilterExtension]:
    return list(_extensions.values())
