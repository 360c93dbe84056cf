"""The notifications' queue (#23): bounded, the oldest dropped when full, one worker thread
that a hanging service holds up without holding up whoever queues."""

from __future__ import annotations

from support.receiver import Receiver

from tfhook.observe.notify_send import Message, Sender


def _message(receiver: Receiver, text: str) -> Message:
    return Message((receiver.url(),), f"tfhook {text}", lambda: text)


def test_a_full_queue_drops_the_oldest_and_counts_it() -> None:
    receiver = Receiver(hang=True)
    counts: list[str] = []
    sender = Sender(counts.append, size=2)
    try:
        sender.put(_message(receiver, "first"))
        receiver.wait(1)  # the worker is held up by the hanging receiver
        for text in ("second", "third", "fourth"):
            sender.put(_message(receiver, text))  # never blocks
        assert counts == ["dropped"]
        receiver.gate.set()
        assert receiver.wait(3) == ["first", "third", "fourth"]
    finally:
        receiver.close()
