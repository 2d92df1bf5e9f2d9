#!/usr/bin/python3
"""A real SMTP server for transports_live_test.cc: aiosmtpd (Debian python3-aiosmtpd) on
127.0.0.1:PORT, plain (no STARTTLS offered), AUTH PLAIN/LOGIN accepted for user/secret, writing
one JSON line per message (envelope and the message as received) to OUT.

    smtp_sink.py PORT OUT
"""
import json
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        line = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "auth": session.authenticated,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"user" and auth_data.password == b"secret"
    return AuthResult(success=ok)


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    controller = Controller(
        Sink(out),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(1)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
