"""An Exchange Online-like POP3 server (outlook.office365.com:995): implicit
TLS, CAPA, AUTH XOAUTH2 (two-step or with an initial response, the error
challenge), then the TRANSACTION state on the mailbox's messages: STAT,
LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, QUIT (deletions applied at QUIT).
Texts follow Exchange's."""
import asyncio
import ssl
import sys

import xoauth2
from line_session import LineSession

ROLE = "POP.AccessAsApp"
GREETING = "+OK The Microsoft Exchange POP3 service is ready. [U1RBTkRJTjAx]"
AUTH_FAILED = "-ERR Authentication failure: unknown user name or bad password."


def log(msg):
    print(f"standin pop3: {msg}", file=sys.stderr, flush=True)


def dot_stuffed(data):
    """RFC 1939 multi-line body: lines starting with '.' get another '.'."""
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


class Session(LineSession):
    def __init__(self, server, reader, writer):
        super().__init__(server, reader, writer)
        self.messages = []   # snapshot at login (POP3 mailboxes do not change during a session)
        self.deleted = set()

    async def read_line(self):
        return (await self.read_crlf_line())[:-2].decode("utf-8", "replace")

    async def run(self):
        self.state.count("pop3", "connections")
        try:
            if self.state.knob("drop_after") == "greeting":
                return
            await self.send(GREETING)
            while True:
                verb, _, arg = (await self.read_line()).partition(" ")
                verb = verb.upper()
                if verb == "QUIT":
                    if self.mailbox:
                        self.state.remove(self.mailbox, [self.messages[n - 1]["uid"] for n in self.deleted])
                    await self.send("+OK Microsoft Exchange Server POP3 server signing off.")
                    return
                handler = getattr(self, "cmd_" + verb, None) if verb.isalpha() else None
                needs_login = verb not in ("CAPA", "AUTH", "USER", "PASS", "NOOP")
                if handler is None or (needs_login and self.mailbox is None):
                    await self.send("-ERR Protocol error. 14")
                    continue
                await handler(arg)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            if self.mailbox:
                self.state.session_close(self.mailbox, "pop3")
            self.writer.close()

    # --- AUTHORIZATION state --------------------------------------------------
    async def cmd_CAPA(self, arg):
        await self.send("+OK\r\nTOP\r\nUIDL\r\nSASL PLAIN XOAUTH2\r\nUSER\r\n.")

    async def cmd_NOOP(self, arg):
        await self.send("+OK" if self.mailbox else "-ERR Protocol error. 14")

    async def cmd_USER(self, arg):
        await self.send("+OK")

    async def cmd_PASS(self, arg):
        # Basic auth is gone at Exchange Online; a relay must never use it.
        self.state.count("pop3", "auth_failed")
        log("USER/PASS refused (basic auth)")
        await self.send("-ERR Logon failure: unknown user name or bad password.")

    async def cmd_AUTH(self, arg):
        mech, _, initial = arg.partition(" ")
        if self.mailbox or mech.upper() != "XOAUTH2":
            return await self.send("-ERR Protocol error. 14")
        if not initial:
            await self.send("+ ")
            initial = await self.read_line()
            if initial == "*":
                return await self.send("-ERR Protocol error. 14")
        if self.state.knob("drop_after") == "auth":
            raise ConnectionError("knob drop_after=auth")
        google = xoauth2.is_google(initial, self.srv.registry)  # Gmail's texts for its mailboxes
        if self.state.knob("auth_fail"):
            return await self.refuse("knob auth_fail", google)
        mailbox, _, why = xoauth2.check(initial, self.srv.issuer, self.srv.registry, ROLE)
        if why:
            return await self.refuse(why, google)
        if not self.state.session_open(mailbox, self.state.knob("max_concurrent_per_mailbox"), "pop3"):
            return await self.refuse(f"concurrency limit for {mailbox}")
        self.mailbox = mailbox
        _, _, self.messages = self.state.mailbox(mailbox)
        self.state.count("pop3", "auth_ok")
        await self.send("+OK Welcome." if google else "+OK User successfully authenticated.")

    async def refuse(self, why, google=False):
        self.state.count("pop3", "auth_failed")
        log(f"AUTH XOAUTH2 refused: {why}")
        if google:
            await self.send("+ " + xoauth2.GOOGLE_FAIL_CHALLENGE)
            await self.read_line()
            return await self.send("-ERR [AUTH] Username and password not accepted.")
        if self.state.knob("auth_fail_challenge"):
            await self.send("+ " + xoauth2.FAIL_CHALLENGE)
            await self.read_line()
        await self.send(AUTH_FAILED)

    # --- TRANSACTION state ----------------------------------------------------
    def message(self, arg):
        """(number, message) for a message argument that exists and is not deleted."""
        if not arg.strip().isdigit():
            return None, None
        n = int(arg.strip())
        if not 1 <= n <= len(self.messages) or n in self.deleted:
            return None, None
        return n, self.messages[n - 1]

    def live(self):
        return [(n, m) for n, m in enumerate(self.messages, 1) if n not in self.deleted]

    async def cmd_STAT(self, arg):
        live = self.live()
        await self.send(f"+OK {len(live)} {sum(len(m['data']) for _, m in live)}")

    async def listing(self, arg, value):
        if arg:
            n, m = self.message(arg)
            return await self.send(f"+OK {n} {value(m)}" if m else "-ERR No such message.")
        await self.send("\r\n".join(["+OK"] + [f"{n} {value(m)}" for n, m in self.live()] + ["."]))

    async def cmd_LIST(self, arg):
        await self.listing(arg, lambda m: len(m["data"]))

    async def cmd_UIDL(self, arg):
        await self.listing(arg, lambda m: f"uid{m['uid']}")

    async def cmd_RETR(self, arg):
        n, m = self.message(arg)
        if not m:
            return await self.send("-ERR No such message.")
        await self.send(f"+OK {len(m['data'])} octets\r\n".encode() + dot_stuffed(m["data"]) + b".\r\n")

    async def cmd_TOP(self, arg):
        num, _, lines = arg.partition(" ")
        n, m = self.message(num)
        if not m or not lines.strip().isdigit():
            return await self.send("-ERR No such message.")
        head, sep, body = m["data"].partition(b"\r\n\r\n")
        body_lines = body.split(b"\r\n")[:int(lines)]
        text = head + sep + b"\r\n".join(body_lines) + (b"\r\n" if body_lines else b"")
        await self.send(b"+OK\r\n" + dot_stuffed(text) + b".\r\n")

    async def cmd_DELE(self, arg):
        n, m = self.message(arg)
        if not m:
            return await self.send("-ERR No such message.")
        self.deleted.add(n)
        await self.send("+OK")

    async def cmd_RSET(self, arg):
        self.deleted.clear()
        await self.send("+OK")
