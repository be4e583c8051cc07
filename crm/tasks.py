"""Queue a Celery task once the transaction commits, and never let the broker fail the caller.

The database holds the work (an outbox row, an import job, a newsletter); the broker only says
"there is work now". So every enqueue goes through `enqueue_on_commit`: the task is queued after
commit (a worker never reads a row that is not there yet, and a rollback queues nothing), on a
background thread because a dead broker takes seconds to refuse (the Redis client retries), and
a broker error is logged, not raised: the periodic task named in `backstop` does the work later.
"""

import logging
import threading
from typing import Any

from celery import Task
from django.db import transaction

from crm.celery import app

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *, backstop: str, using: str | None = None, **kwargs: Any) -> None:
    """After commit, `task.apply_async(kwargs=kwargs)`; a broker error is logged and left to `backstop`.

    `backstop` names what picks the work up when the message is lost, for the log line and the reader
    (e.g. "the outbox sweep, every minute"). With CELERY_TASK_ALWAYS_EAGER (tests) the task runs inline.
    """

    def send() -> None:
        try:
            task.apply_async(kwargs=kwargs, retry=False)
        except Exception:  # kombu's and redis-py's connection errors have no common base; none may reach the page
            log.warning("Could not queue %s(%s); %s will do it", task.name, kwargs, backstop, exc_info=True)

    def send_soon() -> None:
        if app.conf.task_always_eager:  # tests: run it here, and let its errors fail the test
            task.apply_async(kwargs=kwargs)
        else:
            threading.Thread(target=send, name=f"enqueue-{task.name}", daemon=True).start()

    transaction.on_commit(send_soon, using=using)
