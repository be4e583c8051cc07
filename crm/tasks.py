"""Queue a Celery task once the transaction commits, and never let the broker fail the caller.

The database holds the work (an outbox row, an import job, a newsletter); the broker only says
"there is work now". So every enqueue goes through `enqueue_on_commit`: the task is queued after
commit (a worker never reads a row that is not there yet, and a rollback queues nothing), on a
background thread because a dead broker takes seconds to refuse (the Redis client retries), and
a broker error is logged, not raised: the periodic task named in `backstop` does the work later.

A task that drains a queue of rows (the till deliveries) is asked for with `coalesce=<cache key>`: while
one such message waits unstarted, asking again sends nothing. The task calls `coalesced_started(key)`
before it reads any row, so a row stored after that asks for a fresh message.
"""

import logging
import threading
from typing import Any

from celery import Task
from django.core.cache import cache
from django.db import connections, transaction

from crm.celery import app

log = logging.getLogger(__name__)


# How long a coalesced message counts as waiting: if it was lost, asking works again after this.
COALESCE_SECONDS = 10


def enqueue_on_commit(
    task: Task, *, backstop: str, using: str | None = None, coalesce: str = "", **kwargs: Any
) -> None:
    """After commit, `task.apply_async(kwargs=kwargs)`; a broker error is logged and left to `backstop`.

    `backstop` names what picks the work up when the message is lost, for the log line and the reader
    (e.g. "the outbox sweep, every minute"). With CELERY_TASK_ALWAYS_EAGER (tests) the task runs inline.
    `coalesce` (a cache key): send nothing while an earlier message under that key has not started.
    """

    def waiting() -> bool:
        if not coalesce:
            return False
        try:
            return not cache.add(coalesce, 1, timeout=COALESCE_SECONDS)
        except Exception:  # the cache is unreachable: send anyway (at worst one message too many)
            log.warning("Could not check %s in the cache; sending %s", coalesce, task.name, exc_info=True)
            return False

    def send() -> None:
        try:
            if waiting():
                return
            try:
                task.apply_async(kwargs=kwargs, retry=False)
            except Exception:  # kombu's and redis-py's errors have no common base; none may reach the page
                log.warning("Could not queue %s(%s); %s will do it", task.name, kwargs, backstop, exc_info=True)
                if coalesce:
                    coalesced_started(coalesce)  # nothing waits under the key after all: the next ask sends again
        finally:
            if coalesce:
                connections.close_all()  # the database cache (no Redis) opened this thread's own connection

    def send_soon() -> None:
        if app.conf.task_always_eager:  # tests: run it here, and let its errors fail the test
            if not waiting():
                task.apply_async(kwargs=kwargs)
        else:
            threading.Thread(target=send, name=f"enqueue-{task.name}", daemon=True).start()

    transaction.on_commit(send_soon, using=using)


def coalesced_started(key: str) -> None:
    """A coalesced task has started: from now on, asking for it sends a new message (call before reading rows)."""
    try:
        cache.delete(key)
    except Exception:  # unreachable: the key expires after COALESCE_SECONDS, and the backstop runs meanwhile
        log.warning("Could not clear %s in the cache", key, exc_info=True)
