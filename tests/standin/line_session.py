"""What the stand-in's IMAP and POP3 servers share: an implicit-TLS listener
whose connections are line-based sessions that end quietly when the client
goes away or a line is over the limit."""
import asyncio

IDLE_TIMEOUT = 1800
MAX_LINE = 64 * 1024


class LineSession:
    def __init__(self, server, reader, writer):
        self.srv, self.state = server, server.state
        self.reader, self.writer = reader, writer
        self.mailbox = None

    async def send(self, data):
        """Bytes as they are; text gets CRLF."""
        self.writer.write(data if isinstance(data, bytes) else (data + "\r\n").encode())
        await self.writer.drain()

    async def read_crlf_line(self):
        """One line with its CRLF; ConnectionError when the client went away
        or the line is longer than MAX_LINE."""
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), IDLE_TIMEOUT)
        except asyncio.IncompleteReadError:
            raise ConnectionError("client went away")
        except asyncio.LimitOverrunError:
            raise ConnectionError("line over the limit")
        if len(line) > MAX_LINE:
            raise ConnectionError("line over the limit")
        return line


class TlsLineServer:
    """Listens on 127.0.0.1 (ephemeral port), TLS from the first byte; one
    `session_class` per connection."""

    def __init__(self, session_class, state, registry, issuer, tls_context):
        self.session_class = session_class
        self.state, self.registry, self.issuer, self.tls_context = state, registry, issuer, tls_context
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(lambda r, w: self.session_class(self, r, w).run(), "127.0.0.1", 0,
                                                 ssl=self.tls_context, limit=MAX_LINE + 2)
        return self.server.sockets[0].getsockname()[1]
