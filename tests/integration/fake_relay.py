#!/usr/bin/python3
"""A stand-in for the xoauth2-relay binary, only for test_relay_fixture.py: it
speaks the two commands the `relay` fixture uses (`hash-password`, `run
--config`) so the fixture itself is tested without the C++ build. It relays
nothing: `run` just accepts TCP connections on every configured listener."""
import hashlib
import re
import signal
import socket
import sys
import threading


def main(argv):
    if argv[:1] == ["hash-password"]:
        pw = sys.stdin.buffer.readline().rstrip(b"\n")
        print("Password: ")  # a prompt line before the hash, as a real tool might
        print("$y$fake$" + hashlib.sha256(pw).hexdigest())
        return 0
    if argv[:1] == ["run"] and len(argv) == 3 and argv[1] == "--config":
        text = open(argv[2], encoding="utf-8").read()
        ports = [int(p) for p in re.findall(r'listen: "127\.0\.0\.1:(\d+)"', text)]
        socks = []
        for p in ports:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            s.listen()
            socks.append(s)
            threading.Thread(target=lambda s=s: [s.accept()[0].close() for _ in iter(int, 1)],
                             daemon=True).start()
        print(f"fake relay listening on {ports}", file=sys.stderr, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait(120)  # never outlives a test run, even if nobody stops it
        print("fake relay stopped", file=sys.stderr, flush=True)
        return 0
    print("usage: fake_relay.py hash-password | run --config FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
