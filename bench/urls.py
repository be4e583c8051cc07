"""The benchmark's URLconf: the project's URLs plus a bare logged-in page that pages are compared with.

bench/pages.py selects it with RAPPORT_BENCH_URLS=1 (crm/settings.py); production routes never include it.
"""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET

from crm.urls import handler400, handler403, handler404, handler500
from crm.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

_BARE = engines["django"].from_string(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head>'
    "<body><p>Hello {{ user.get_username }}</p></body></html>"
)


@require_GET
def bare(request: HttpRequest) -> HttpResponse:
    """A logged-in page with a tiny template extending nothing: the benchmark's yardstick."""
    return HttpResponse(_BARE.render({}, request))


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *project_urlpatterns]
