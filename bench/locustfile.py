"""A mixed staff workload: search, open a friend card, log a touchpoint, My day.

Run by `python bench/pages.py --locust` (20 users, 60 s, headless, against the benchmark's
gunicorn), or by hand against a server started the same way:

    RAPPORT_BENCH_TARGETS=var/bench_targets.json \
    locust -f bench/locustfile.py --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:PORT

RAPPORT_BENCH_TARGETS is a JSON file written by bench/pages.py: {"surnames": [...], "customer_ids": [...]}.
At the end it prints requests per second, p95 and the error count, and exits 1 on any error.
"""

import json
import os
import random
import re

from locust import HttpUser, between, events, task

TARGETS = json.loads(open(os.environ.get("RAPPORT_BENCH_TARGETS", "var/bench_targets.json")).read())
PASSWORD = os.environ.get("RAPPORT_BENCH_PASSWORD", "rapport-demo")
STAFF_LOGINS = ["staff", "jamie"]


class Staff(HttpUser):
    wait_time = between(0.2, 1.0)

    def _plain_http_cookies(self) -> None:
        """With DEBUG=False Django marks cookies Secure; the bench speaks plain http on 127.0.0.1."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def on_start(self) -> None:
        page = self.client.get("/login/", name="login form")
        self._plain_http_cookies()
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if found is None:
            raise RuntimeError("The login page has no CSRF token")
        token = found.group(1)
        with self.client.post(
            "/login/",
            {"username": random.choice(STAFF_LOGINS), "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="log in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login failed: HTTP {response.status_code}")
        self._plain_http_cookies()

    @task(3)
    def search(self) -> None:
        self.client.get("/customers/search/", params={"q": random.choice(TARGETS["surnames"])}, name="search")

    @task(3)
    def open_card(self) -> None:
        self.client.get(f"/customers/{random.choice(TARGETS['customer_ids'])}/", name="friend card")

    @task(2)
    def log_touchpoint(self) -> None:
        self._plain_http_cookies()  # in case a response set a cookie again
        customer_id = random.choice(TARGETS["customer_ids"])
        self.client.post(
            f"/touchpoints/customer/{customer_id}/log/",
            {"kind": "visit", "note": "load test visit"},
            headers={"HX-Request": "true", "X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            name="log touchpoint",
        )

    @task(1)
    def my_day(self) -> None:
        self.client.get("/", name="my day")


@events.quitting.add_listener
def _summary(environment, **kwargs) -> None:
    total = environment.stats.total
    print(
        f"\nLOCUST SUMMARY: {total.num_requests} requests, {total.total_rps:.1f} requests/s, "
        f"p95 {total.get_response_time_percentile(0.95):.0f} ms, median {total.median_response_time:.0f} ms, "
        f"errors {total.num_failures}"
    )
    if total.num_failures:
        environment.process_exit_code = 1
