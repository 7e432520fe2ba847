"""The plugin's entry, run once per pod and command: hand the invocation to the node's CNI
daemon (``daemon``) and print its answer, or, with no daemon, do the work here (``main``).

This is the part of the plugin a busy node pays for on every pod, so it imports nothing the
interpreter has not loaded already but two built-in modules (``_socket``, and ``_json`` for one
string): no ``json``, ``socket``, ``typing`` or ``re``, which would triple its start-up. It
finds the daemon's socket (the configuration's ``daemon_socket``) by reading that one key, and
the daemon parses the configuration itself and declines an invocation that names another
socket, so a key it misread costs only the in-process path.

The protocol, over a unix stream socket (root only: the daemon's is 0600):

    request  each CNI_* variable as NAME=VALUE NUL, then NUL, then the configuration (stdin)
             as it came; the client then shuts its writing side
    answer   the exit status in decimal, LF, then what the plugin prints; or DECLINED, LF,
             and the client does the work itself
"""

import _json
import _socket
import posix
import sys

DAEMON_SOCKET = "/run/alcor-cni/cni.sock"  # the node's CNI daemon (``daemon``), if it runs
DECLINED = b"declined"
_KEY = '"daemon_socket"'
_CHUNK = 1 << 16


def main() -> None:
    environ = {
        name.decode(): value.decode()
        for name, value in posix.environ.items()
        if name.startswith(b"CNI_")
    }
    command = environ.get("CNI_COMMAND")
    stdin = sys.stdin.buffer.read() if command != "VERSION" or not sys.stdin.isatty() else b""
    if command != "VERSION" and stdin:
        answer = ask(socket_of(stdin.decode(errors="replace")), environ, stdin)
        if answer is not None:
            status, printed = answer
            _write_all(printed)
            sys.exit(status)
    from alcor.cni import main as in_process

    sys.exit(in_process.answer(environ, stdin.decode(errors="replace")))


def socket_of(configuration: str) -> str:
    """The ``daemon_socket`` a configuration names, read without parsing the rest of it; the
    default socket if it names none; '' if it names one in a way this cannot read."""
    at = configuration.find(_KEY)
    if at < 0:
        return DAEMON_SOCKET
    colon = configuration.find(":", at + len(_KEY))
    quote = configuration.find('"', colon)
    if colon < 0 or quote < 0 or configuration[colon + 1 : quote].strip():
        return ""
    try:
        found: str = _json.scanstring(configuration, quote + 1)[0]
    except ValueError:
        return ""
    return found


def ask(path: str, environ: dict[str, str], stdin: bytes) -> tuple[int, bytes] | None:
    """The daemon's exit status and output for this invocation; None when no daemon listens at
    ``path``, it declines, or it fails before answering (the plugin then does the work itself:
    ADD and DEL are safe to repeat)."""
    if not path:
        return None
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(path)
        client.sendall(request(environ, stdin))
        client.shutdown(_socket.SHUT_WR)
        chunks = []
        while chunk := client.recv(_CHUNK):
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        client.close()
    status, newline, printed = b"".join(chunks).partition(b"\n")
    if not newline or not status.isdigit():
        return None
    return int(status), printed


def request(environ: dict[str, str], stdin: bytes) -> bytes:
    variables = "".join(f"{name}={value}\0" for name, value in environ.items())
    return variables.encode() + b"\0" + stdin


def parsed(data: bytes) -> tuple[dict[str, str], str]:
    """A request's environment and configuration (ValueError if it is not one)."""
    if data.startswith(b"\0"):  # no variables
        variables, stdin = b"", data[1:]
    else:
        variables, separator, stdin = data.partition(b"\0\0")
        if not separator:
            raise ValueError("no end of the environment")
    environ = {}
    for variable in variables.decode().split("\0") if variables else ():
        name, equals, value = variable.partition("=")
        if not equals or not name.startswith("CNI_"):
            raise ValueError(f"not a CNI variable: {variable[:40]!r}")
        environ[name] = value
    return environ, stdin.decode()


def _write_all(data: bytes) -> None:
    while data:
        data = data[posix.write(1, data) :]
