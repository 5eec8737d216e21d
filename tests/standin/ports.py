"""Local TCP ports and readiness polls shared by the stand-in's users: the
integration tests (tests/integration/conftest.py) and the benchmarks (bench/)."""
import socket
import time

_handed_out = set()


def free_port():
    """A port nothing listens on, never the same twice in one process: a port
    is only reserved once the relay binds it, and the kernel may offer a
    just-released port again (two listeners of one relay once got the same)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_open(port, timeout=0.2):
    """True when something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def poll(cond, timeout, every=0.05):
    """cond()'s first truthy value within timeout seconds, else its last one."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(every)
    return cond()
