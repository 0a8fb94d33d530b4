"""Stand-ins for public endpoints (psf/requests): names that resolve to the container's loopback,
low ports for the test user, an address that never answers -- and still no network, and nothing the
test user gains (the NET_ADMIN that adds the address is root's in the container, never the user's)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from swe_monkeys.paths import HARNESS
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, _stand_in_options
from swe_monkeys.swebench.spec import build_spec
from swe_monkeys.swebench.runner import spec_limits
from swe_monkeys.swebench.validation_table import spec_hash

PROBE = r"""
import socket, time, sys, fcntl, struct
print("resolves", socket.gethostbyname("httpbin.org"))
s = socket.socket(); s.bind(("127.0.0.1", 80)); s.listen(1); print("bound 80"); s.close()
c = socket.socket(); c.settimeout(1.5); t = time.time()
try:
    c.connect(("10.255.255.1", 80)); print("tarpit answered")
except socket.timeout:
    print("tarpit timed out after %.1f" % (time.time() - t))
except OSError as e:
    print("tarpit error", e)
try:
    u = socket.socket(); u.settimeout(1); u.connect(("1.1.1.1", 80)); print("network reached")
except OSError as e:
    print("no network:", type(e).__name__)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    fcntl.ioctl(d.fileno(), 0x8916, struct.pack("16sH2s4s8s", b"lo:9", socket.AF_INET, bytes(2),
                socket.inet_aton("10.9.9.9"), bytes(8)))
    print("user added an address")
except OSError as e:
    print("user cannot add addresses:", e.errno)
"""


def test_spec_fields_become_container_options():
    spec = build_spec("o/r", "1", {"loopback_hosts": ["httpbin.org"], "tarpits": ["10.255.255.1"]})
    limits = spec_limits(Limits(), spec)
    assert limits.loopback_hosts == ("httpbin.org",) and limits.tarpits == ("10.255.255.1",)
    options = _stand_in_options(limits)
    assert options["extra_hosts"] == {"httpbin.org": "127.0.0.1"} and options["cap_add"] == ["NET_ADMIN"]
    assert options["sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert _stand_in_options(Limits()) == {}  # every other spec's container is as before
    plain = build_spec("o/r", "1", {})
    assert spec_hash(plain) == spec_hash(replace(plain, loopback_hosts=(), tarpits=()))
    assert spec_hash(spec) != spec_hash(plain)


@pytest.mark.docker
def test_stand_ins_answer_on_the_loopback_and_the_user_gains_nothing(docker_client, images):
    image = next(iter(images.values()))
    limits = replace(Limits(), loopback_hosts=("httpbin.org",), tarpits=("10.255.255.1",))
    with DockerSandbox(docker_client, image, limits) as box:
        box.put_files({"/opt/swe-monkeys/http_standin.py": (HARNESS / "http_standin.py").read_bytes(),
                       "/opt/probe.py": PROBE.encode()})
        started = box.exec(["python3", "/opt/swe-monkeys/http_standin.py", "--tarpit", "10.255.255.1"], 60,
                           user="swe")
        assert started.exit_code == 0, started.output
        out = box.exec(["python3", "/opt/probe.py"], 60, user="swe").output
    assert "resolves 127.0.0.1" in out and "bound 80" in out, out
    waited = re.search(r"tarpit timed out after ([0-9.]+)", out)  # never answered, as a non-routable address
    assert waited and float(waited.group(1)) >= 1.4, out
    assert "no network: OSError" in out, out
    assert "user cannot add addresses: 1" in out, out  # EPERM: NET_ADMIN is not the test user's
