"""kombu's Redis transport, with a worker that survives Redis going away while it holds unacked tasks.

When the broker connection drops, Celery's consumer closes the channel, and closing tries to put
the worker's unacknowledged tasks back on the queue. By then the connection is released, so
kombu 5.7 fails with AttributeError ("'NoneType' object has no attribute 'hostname'" in
Channel._connparams, kombu issue 582; "'NoneType' object has no attribute 'client'" when a task
finishes and is acknowledged after the loss) or a ConnectionError, and the worker exits with
"Unrecoverable error" instead of reconnecting.

Skipping that restore is safe: the unacked tasks stay in Redis' unacked index and are restored
after the visibility timeout by any worker (or are gone with a Redis that restarted empty), and
the database outbox, not the broker, holds the work (the beat sweep finds every due row).
Selected by CELERY_BROKER_TRANSPORT in crm/settings.py.
"""

import logging

from kombu.transport import redis as kombu_redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client=None) -> None:
        try:
            super().restore_unacked(client)
        except (AttributeError, RedisError, OSError) as exc:
            log.warning(
                "Broker connection lost: %d unacked task(s) left for the visibility timeout to restore (%r)",
                len(self._delivered),
                exc,
            )
            self._delivered.clear()

    def ack(self, delivery_tag) -> None:
        # The same release bug when a task finishes after the connection was lost: the ack cannot
        # reach Redis; the task stays in the unacked index and may run again, which the outbox
        # makes harmless (a row is claimed once).
        try:
            super().ack(delivery_tag)
        except (AttributeError, RedisError, OSError) as exc:
            log.warning("Broker connection lost: could not acknowledge task %s (%r)", delivery_tag, exc)
            self._delivered.pop(delivery_tag, None)

    def reject(self, delivery_tag, requeue=False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except (AttributeError, RedisError, OSError) as exc:
            log.warning("Broker connection lost: could not reject task %s (%r)", delivery_tag, exc)
            self._delivered.pop(delivery_tag, None)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
