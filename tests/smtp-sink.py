"""The reminder tests' mail peer (aiosmtpd, pinned in requirements.txt).

  smtp-sink.py serve PORT DIR   an SMTP server on 127.0.0.1:PORT; every message received
                                is written to DIR as NNNN.json (see `parse`, plus the
                                envelope); prints "ready" once listening, runs until its
                                stdin closes.
  smtp-sink.py parse            reads one raw message on stdin, prints it as JSON:
                                {"headers": {name: value}, "text": ..., "html": ...},
                                MIME and transfer encodings decoded by Python's email
                                package (so the tests read what a mail client shows).
"""

import email
import email.policy
import json
import pathlib
import sys
import threading


def parse(raw: bytes) -> dict:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = lambda kind: (part := message.get_body((kind,))) and part.get_content()
    return {
        "headers": {name: str(value) for name, value in message.items()},
        "content_type": message.get_content_type(),
        "text": body("plain"),
        "html": body("html"),
    }


class Sink:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = f"{self.count:04}.json"
        received = parse(envelope.original_content or envelope.content)
        received["envelope"] = {"from": envelope.mail_from, "to": envelope.rcpt_tos}
        # Written under another name, then renamed: a reader never sees half a message.
        part = self.folder / (name + ".part")
        part.write_text(json.dumps(received))
        part.rename(self.folder / name)
        return "250 OK"


def serve(port: int, folder: pathlib.Path):
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]), pathlib.Path(sys.argv[3]))
    else:
        print(json.dumps(parse(sys.stdin.buffer.read())))
