"""Local stand-ins for the public endpoints a test suite reaches, inside a container with no network.

Some suites (psf/requests) fetch http(s)://httpbin.org and other public names, and dial a
non-routable address (10.255.255.1) expecting a connect timeout. Tests never get a network here, so
a spec names those hosts and this script answers for them on the loopback:
- every name of `--host` resolves to 127.0.0.1 inside the container only (the container's
  /etc/hosts, written by Docker from the spec's `loopback_hosts`; nothing outside is asked);
- httpbin's own application (the `httpbin` package of the environment) serves them on port 80 and,
  with TLS, on port 443, under the spec's certificate for those names (`--cert`/`--key`: made when
  the image is built and added there to the CA bundle the suite verifies against, as the real
  service's is in it);
- each `--tarpit` address (added to the loopback by the container's root at start: the spec's
  `tarpits`) gets a listener whose accept queue is full, so a connection to it is never answered:
  the client's connect times out, as it does against a real non-routable address.

Run by the test command as the test user, before the tests: it starts the servers in a daemon
process, waits until they accept and exits 0 (non-zero with the reason when a server cannot start). The servers are the environment's, not the harness's: a
candidate's code that stops them only fails its own tests. Standard library, Python 3.6+.
"""

import argparse
import os
import socket
import sys
import threading
import time


def tarpit(address, port):
    """A listener that never accepts, its queue filled: further SYNs are dropped unanswered."""
    listener = socket.socket()
    listener.bind((address, port))
    listener.listen(0)
    held = []
    for _ in range(4):  # fill the accept queue (its length is the backlog plus one)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect((address, port))
            held.append(probe)
        except OSError:
            probe.close()
            break
    return listener, held


def serve(hosts, tarpits, cert, key, ready):
    kept = [tarpit(address, port) for address in tarpits for port in (80, 443)]
    if hosts:
        from httpbin import app
        from werkzeug.serving import WSGIRequestHandler, make_server

        import werkzeug.serving
        from werkzeug.wsgi import LimitedStream

        class Handler(WSGIRequestHandler):
            """Keep-alive, as the real service answers (Werkzeug's development server closes every
            connection and says so; suites of the time check the Connection header, and reuse it)."""
            protocol_version = "HTTP/1.1"

            def send_header(self, keyword, value):
                if keyword.lower() == "connection":
                    value = "close" if self.headers.get("Connection", "").lower() == "close" else "keep-alive"
                WSGIRequestHandler.send_header(self, keyword, value)

        class NoDrain:
            """Werkzeug drains the socket after each response (it closes every connection), which
            would swallow the next request of a kept-alive one; `deployed` reads the request's
            own body to its end instead, as a keep-alive server must."""

            def register(self, *args):
                pass

            def select(self, timeout=None):
                return []

            def close(self):
                pass

        werkzeug.serving.selectors = type("selectors", (), {"DefaultSelector": NoDrain, "EVENT_READ": 1})

        def deployed(environ, start_response):
            # httpbin accepts chunked uploads only behind gunicorn, as httpbin.org is deployed;
            # Werkzeug de-chunks them itself (wsgi.input_terminated), so say what the service runs on.
            environ["SERVER_SOFTWARE"] = "gunicorn/19.9.0"
            if not environ.get("wsgi.input_terminated"):
                environ["wsgi.input"] = LimitedStream(environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input_terminated"] = True
            body = app(environ, start_response)
            try:
                for chunk in body:
                    yield chunk
            finally:
                if hasattr(body, "close"):
                    body.close()
                while environ["wsgi.input"].read(65536):  # the rest of this request's body
                    pass

        servers = [make_server("127.0.0.1", 80, deployed, threaded=True, request_handler=Handler),
                   make_server("127.0.0.1", 443, deployed, threaded=True, request_handler=Handler,
                               ssl_context=(cert, key))]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(ready, "w") as out:
        out.write("ok\n")
    while kept or hosts:
        time.sleep(3600)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", action="append", default=[], help="a name answered on 127.0.0.1:80/443")
    parser.add_argument("--tarpit", action="append", default=[], help="an address that never answers")
    parser.add_argument("--cert", help="the certificate served on 443 (PEM)")
    parser.add_argument("--key", help="its private key (PEM)")
    parser.add_argument("--state", default="/tmp/swe-monkeys-standin", help="where the ready mark and log go")
    args = parser.parse_args(argv)
    if args.host and not (args.cert and args.key):
        parser.error("--host needs --cert and --key")
    os.makedirs(args.state, exist_ok=True)
    ready, log = os.path.join(args.state, "ready"), os.path.join(args.state, "log")
    for stale in (ready, log):
        if os.path.exists(stale):
            os.unlink(stale)
    if os.fork() == 0:  # the daemon: its own session, no terminal, nothing inherited but its log
        os.setsid()
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, out)
        os.closerange(out + 1, 65536)
        try:
            serve(args.host, args.tarpit, args.cert, args.key, ready)
        except BaseException as exc:  # noqa: BLE001 -- reported through the log, read by the parent
            sys.stderr.write("stand-in failed: %r\n" % (exc,))
            sys.stderr.flush()
        os._exit(1)
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(ready):
            return 0
        time.sleep(0.05)
        try:
            with open(log) as text:
                failure = text.read()
        except OSError:
            failure = ""
        if "stand-in failed" in failure:
            sys.stderr.write(failure)
            return 1
    sys.stderr.write("stand-in servers did not start in 30 s\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
