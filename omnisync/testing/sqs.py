"""A real SQS on loopback for the tests, the demo and the benchmarks: moto's server mode
(``moto[server]``, ``ThreadedMotoServer``), which speaks the SQS wire protocol to boto3.

    with LocalSqs() as sqs:
        queue = sqs.queue("omnisync-amazon")          # a queue with a dead-letter queue behind it
        emulator.attach_queue(queue.arn, queue.sink())   # the Amazon emulator publishes into it
        settings["notifications"] = queue.settings()     # the connector consumes it

moto comes with the ``test`` and ``demo`` extras (``pip install 'omnisync[demo]'``), imported only here.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # moto's: it checks no signature


class SqsSink:
    """Sends message bodies to an SQS queue with boto3, in order, from a thread of its own (so the
    emulator, often in the daemon's event loop, never blocks on the queue)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.sent = 0
        self.failed = 0
        self._pending: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="amazon-emulator-sqs", daemon=True)
        self._thread.start()

    def __call__(self, body: str) -> None:
        self._pending.put(body)

    def _run(self) -> None:
        while True:
            body = self._pending.get()
            try:
                if body is None:
                    return
                self.client.send_message(QueueUrl=self.queue_url, MessageBody=body)
                self.sent += 1
            except Exception:  # a queue that went away: the notification is lost, as on the platform
                self.failed += 1
            finally:
                self._pending.task_done()

    def flush(self) -> None:
        """Wait until every body handed so far was sent."""
        self._pending.join()

    def close(self) -> None:
        self._pending.put(None)
        self._thread.join(10.0)


@dataclass
class LocalQueue:
    sqs: LocalSqs
    name: str
    url: str
    arn: str
    dead_letter_url: str

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The Amazon connector's ``notifications`` settings reaching this queue."""
        return {
            "queue_arn": self.arn,
            "queue_url": self.url,
            "endpoint_url": self.sqs.endpoint,
            "dead_letter_queue_url": self.dead_letter_url,
            "aws_access_key_id": ACCESS_KEY,
            "aws_secret_access_key": SECRET_KEY,
            **overrides,
        }

    def sink(self) -> Any:
        """Where an emulator sends its notifications (a thread of its own, boto3 SendMessage)."""
        found = SqsSink(self.sqs.client(), self.url)
        self.sqs.sinks.append(found)
        return found

    def depth(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of this queue (or of ``url``)."""
        answer = self.sqs.client().get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(answer["ApproximateNumberOfMessages"]), int(
            answer["ApproximateNumberOfMessagesNotVisible"]
        )


class LocalSqs:
    """moto's server on 127.0.0.1 (a free port), started on enter and stopped on exit."""

    def __init__(self) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        # moto serves through werkzeug, which logs every request on stderr (the demo's output would
        # drown in "POST / HTTP/1.1 200" lines); its errors still show
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""
        self.sinks: list[Any] = []
        self._client: Any = None

    def __enter__(self) -> LocalSqs:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        for sink in self.sinks:
            sink.close()
        self.server.stop()

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "sqs",
                region_name=REGION,
                endpoint_url=self.endpoint,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
            )
        return self._client

    def queue(self, name: str, *, max_receives: int = 5) -> LocalQueue:
        """A queue and its dead-letter queue (the redrive policy moves a message there after
        ``max_receives`` receives)."""
        client = self.client()
        dead_url = client.create_queue(QueueName=f"{name}-dead")["QueueUrl"]
        dead_arn = client.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(max_receives)})
        url = client.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return LocalQueue(self, name, url, arn, dead_url)
