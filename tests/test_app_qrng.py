"""`tinygan entropy fetch` against a loopback stub of the ANU QRNG API (127.0.0.1 only)."""
import http.server
import json
import threading
import urllib.parse

import pytest

from tinygan import qrng
from tinygan.cli import CLIError, main


class Stub(http.server.BaseHTTPRequestHandler):
    requests = []
    fail_after = None  # answer HTTP 500 after this many requests
    counter = [0]

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        Stub.requests.append((q, self.headers.get("x-api-key")))
        if self.headers.get("x-api-key") != "k3y":
            return self._send(403, {"message": "Forbidden"})
        n = int(q["length"][0])
        if n > 1024 or q["type"][0] != "uint8":
            return self._send(400, {"message": "bad request"})
        if Stub.fail_after is not None and len(Stub.requests) > Stub.fail_after:
            return self._send(500, {"message": "boom"})
        data = [(Stub.counter[0] + i) % 256 for i in range(n)]
        Stub.counter[0] += n
        self._send(200, {"success": True, "type": "uint8", "length": n, "data": data})

    def _send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    Stub.requests = []
    Stub.fail_after = None
    Stub.counter = [0]
    srv = http.server.HTTPServer(("127.0.0.1", 0), Stub)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_port
    srv.shutdown()
    srv.server_close()


def test_fetch_appends_in_requests_of_at_most_1024(server, tmp_path, monkeypatch):
    pool = tmp_path / "entropy.bin"
    pool.write_bytes(b"old")
    monkeypatch.setenv("TINYGAN_QRNG_KEY", "k3y")
    assert main(["entropy", "fetch", "--bytes", "2500", "--out", str(pool), "--url", server]) == 0
    data = pool.read_bytes()
    assert data[:3] == b"old" and len(data) == 3 + 2500
    assert data[3:] == bytes(i % 256 for i in range(2500))
    assert [int(q["length"][0]) for q, _ in Stub.requests] == [1024, 1024, 452]
    assert all(k == "k3y" and q["type"] == ["uint8"] for q, k in Stub.requests)


def test_http_error_leaves_pool_untouched(server, tmp_path):
    pool = tmp_path / "entropy.bin"
    pool.write_bytes(b"keep me")
    Stub.fail_after = 1
    with pytest.raises(CLIError, match="HTTP 500"):
        qrng.fetch(str(pool), 3000, server, "k3y", log=lambda *a: None)
    assert pool.read_bytes() == b"keep me"
    assert not (tmp_path / "entropy.bin.tmp").exists()


def test_bad_key_is_a_clear_error(server, tmp_path):
    with pytest.raises(CLIError, match="HTTP 403"):
        qrng.fetch(str(tmp_path / "p"), 10, server, "wrong", log=lambda *a: None)
    assert not (tmp_path / "p").exists()


def test_offline_is_a_clear_error(tmp_path):
    # A closed loopback port stands in for "offline".
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(CLIError, match="cannot reach the QRNG"):
        qrng.fetch(str(tmp_path / "p"), 10, "http://127.0.0.1:%d" % port, "k", log=lambda *a: None)


def test_key_from_config_file_and_missing_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TINYGAN_QRNG_KEY", raising=False)
    f = tmp_path / "key"
    f.write_text(" abc \n")
    assert qrng.api_key(str(f)) == "abc"
    with pytest.raises(CLIError, match="no QRNG API key"):
        qrng.api_key(str(tmp_path / "missing"))


def test_new_pool_gets_a_cursor_existing_keeps_its_own(server, tmp_path, monkeypatch):
    from tinygan.appshim import use_scripts
    use_scripts()
    import entropy
    monkeypatch.setenv("TINYGAN_QRNG_KEY", "k3y")
    pool = tmp_path / "entropy.bin"
    assert main(["entropy", "fetch", "--bytes", "300", "--out", str(pool), "--url", server]) == 0
    p = entropy.Pool(str(tmp_path))
    assert p.cursor() == 0 and p.take(10) == bytes(range(10))
    assert main(["entropy", "fetch", "--bytes", "100", "--out", str(pool), "--url", server]) == 0
    assert entropy.Pool(str(tmp_path)).cursor() == 10 and pool.stat().st_size == 400
    assert main(["entropy", "init", "--out", str(pool)]) == 2  # refuses to reset a cursor
    assert entropy.Pool(str(tmp_path)).cursor() == 10
