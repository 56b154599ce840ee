"""edgeport serve: 127.0.0.1 only, one folder, no listing, no way out of it."""

import http.client

import pytest

from edgeport.export.tfjs.serve import make_server, serve_in_thread


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<p>hi</p>")
    (root / "sub").mkdir()
    (root / "sub" / "a.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link").symlink_to(tmp_path / "secret.txt")
    server, url = serve_in_thread(root)
    yield server
    server.shutdown()
    server.server_close()


def get(server, path):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Content-Type")


def test_serves_files_of_its_folder(site):
    assert site.server_address[0] == "127.0.0.1"
    assert get(site, "/index.html")[:2] == (200, b"<p>hi</p>")
    assert get(site, "/")[:2] == (200, b"<p>hi</p>")
    status, _, ctype = get(site, "/sub/a.json")
    assert status == 200 and ctype == "application/json"


@pytest.mark.parametrize("path", ["/../secret.txt", "/sub/../../secret.txt",
                                  "/%2e%2e/secret.txt", "/sub/%2E%2E/%2e%2e/secret.txt",
                                  "/link", "/sub/", "//etc/passwd", "/..%2fsecret.txt"])
def test_nothing_outside_and_no_listings(site, path):
    status, body, _ = get(site, path)
    assert status == 404 and b"secret" not in body


def test_refuses_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_server(tmp_path / "nope", 0)
