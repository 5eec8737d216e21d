"""Plain-HTTP control API on 127.0.0.1 that tests use to look inside the
stand-in and to inject failures: /stats, /messages, /knobs, /reset, /reload,
/mailboxes/<address>/messages."""
import base64
import urllib.parse
import http.server
import json
import threading

import state as state_mod


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def mailbox_path(self):
        """The address in /mailboxes/<address>/messages, or None."""
        parts = self.path.split("/")
        if len(parts) == 4 and parts[1] == "mailboxes" and parts[3] == "messages" and parts[2]:
            return urllib.parse.unquote(parts[2])
        return None

    def do_GET(self):
        st = self.server.state
        address = self.mailbox_path()
        if address:
            _, _, msgs = st.mailbox(address)
            return self.send_json(200, [dict(m, size=len(m["data"]), data=base64.b64encode(m["data"]).decode())
                                        for m in msgs])
        if self.path == "/stats":
            doc = st.stats()
            if self.server.graph is not None:
                doc["graph"] = self.server.graph.stats()
            return self.send_json(200, doc)
        if self.path == "/knobs":
            with st.lock:
                return self.send_json(200, dict(st.knobs))
        if self.path == "/messages":
            return self.send_json(200, [dict(m, data=base64.b64encode(m["data"]).decode())
                                        for m in st.list_messages()])
        self.send_json(404, {"error": "no such path"})

    def do_DELETE(self):
        if self.path == "/messages":
            self.server.state.clear_messages()
            return self.send_json(200, {})
        self.send_json(404, {"error": "no such path"})

    def do_POST(self):
        st = self.server.state
        address = self.mailbox_path()
        if address:  # the body is the raw message
            length = int(self.headers.get("Content-Length") or 0)
            uid = st.deliver(address, self.rfile.read(length) if length else b"")
            return self.send_json(200, {"uid": uid})
        try:
            doc = self.read_json()
        except ValueError:
            return self.send_json(400, {"error": "body is not JSON"})
        if self.path == "/knobs":
            try:
                return self.send_json(200, st.merge_knobs(doc))
            except state_mod.KnobError as e:
                return self.send_json(400, {"error": str(e)})
        if self.path == "/reset":
            st.reset()
            if self.server.graph is not None:
                self.server.graph.reset()
            return self.send_json(200, {})
        if self.path == "/graph/faults" and self.server.graph is not None:
            try:
                return self.send_json(200, self.server.graph.add_faults(doc))
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
        if self.path == "/reload":
            try:
                self.server.registry.load()
            except (OSError, ValueError) as e:
                return self.send_json(400, {"error": f"apps config not reloaded: {e}"})
            return self.send_json(200, {})
        self.send_json(404, {"error": "no such path"})


class ControlServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state, registry):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state, self.registry = state, registry
        self.graph = None  # graph_endpoint.GraphState, set by standin.py

    def start(self):
        threading.Thread(target=self.serve_forever, name="control", daemon=True).start()
        return self.server_address[1]
