"""The app's URLs plus /bench/bare/: a logged-in page with a tiny template extending nothing, the yardstick."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from crm.urls import handler400, handler403, handler404, handler500  # noqa: F401
from crm.urls import urlpatterns as app_urlpatterns

_BARE = engines["django"].from_string(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bare</title></head>'
    "<body><p>Hello {{ user.get_username }}</p></body></html>"
)


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_BARE.render({"user": request.user}, request))


urlpatterns = [path("bench/bare/", bare), *app_urlpatterns]
