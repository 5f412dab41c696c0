"""Downloads against an HTTP server on 127.0.0.1 (standard library, port 0) with generated files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
import time
from typing import ClassVar

import numpy as np
import pytest

from lucas2019.data import load
from lucas2019.data.download import ChecksumMismatchError, DownloadError, download_file
from lucas2019.data.idx import idx_bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    mode = "ok"
    release: threading.Event
    hits: list[str]

    def do_GET(self):
        self.hits.append(self.path)
        name = self.path.rsplit("/", 1)[-1]
        if self.mode == "down" or name not in self.files:
            self.send_error(404 if self.mode != "down" else 503)
            return
        body = self.files[name]
        if self.mode == "corrupt":
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.mode == "stall":
            self.wfile.write(body[:10])
            self.wfile.flush()
            self.release.wait(10)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def make_server():
    servers = []

    def start(files, mode="ok"):
        handler = type(
            "H",
            (_Handler,),
            {"files": files, "mode": mode, "release": threading.Event(), "hits": []},
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append((server, handler))
        return f"http://127.0.0.1:{server.server_address[1]}/mnist/", handler

    yield start
    for server, handler in servers:
        handler.release.set()
        server.shutdown()
        server.server_close()


def mnist_files(n=5):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    files = {}
    for prefix, n_ in (("train", n + 1), ("t10k", n)):
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 256, size=(n_, 28, 28), dtype=np.uint8)), mtime=0
        )
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 10, size=n_, dtype=np.uint8)), mtime=0
        )
    return files, images


def sums(files, algo="sha256"):
    return {k: f"{algo}:{hashlib.new(algo, v).hexdigest()}" for k, v in files.items()}


def test_download_success_then_offline_reuse(tmp_path, make_server):
    files, _ = mnist_files()
    url, handler = make_server(files)
    root = tmp_path / "data"
    ds = load(
        "mnist",
        root=root,
        download=True,
        mirrors=[url],
        checksums=sums(files, "md5"),
        timeout=2.0,
        progress=False,
    )
    assert ds.train.shape == (6, 784) and ds.test.shape == (5, 784)
    assert sorted(p.name for p in root.iterdir()) == sorted(files)
    for name, body in files.items():
        assert (root / name).read_bytes() == body
    n_hits = len(handler.hits)
    assert n_hits == 4
    load("mnist", root=root, download=True, mirrors=[url], checksums=sums(files), progress=False)
    assert len(handler.hits) == n_hits  # files present: nothing fetched again


def test_first_mirror_down_next_used(tmp_path, make_server):
    files, _ = mnist_files()
    down, down_handler = make_server(files, mode="down")
    good, good_handler = make_server(files)
    path = download_file(
        "t10k-images-idx3-ubyte.gz",
        tmp_path,
        [down, good],
        sums(files)["t10k-images-idx3-ubyte.gz"],
        timeout=2.0,
        retries=2,
        backoff=0.01,
        progress=False,
    )
    assert path.read_bytes() == files["t10k-images-idx3-ubyte.gz"]
    assert len(down_handler.hits) == 2 and len(good_handler.hits) == 1


def test_checksum_mismatch_leaves_no_file(tmp_path, make_server):
    files, _ = mnist_files()
    url, _ = make_server(files, mode="corrupt")
    name = "t10k-images-idx3-ubyte.gz"
    with pytest.raises(ChecksumMismatchError) as err:
        download_file(name, tmp_path, [url], sums(files)[name], timeout=2.0, progress=False)
    msg = str(err.value)
    assert "checksum mismatch" in msg and name in msg and url in msg
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left behind


def test_checksum_mismatch_through_load(tmp_path, make_server):
    files, _ = mnist_files()
    url, _ = make_server(files)
    wrong = {k: "md5:" + "0" * 32 for k in files}
    with pytest.raises(ChecksumMismatchError, match=r"train-images-idx3-ubyte\.gz"):
        load("mnist", root=tmp_path, download=True, mirrors=[url], checksums=wrong, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_stalled_server_times_out_fast(tmp_path, make_server):
    files, _ = mnist_files()
    url, _ = make_server(files, mode="stall")
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match=r"timed out after 0\.5 s") as err:
        load(
            "mnist",
            root=tmp_path / "m",
            download=True,
            mirrors=[url],
            checksums=sums(files),
            timeout=0.5,
            retries=1,
            progress=False,
        )
    assert time.perf_counter() - t0 < 3.0
    msg = str(err.value)
    assert url in msg and "by hand" in msg and str(tmp_path / "m") in msg
    assert not (tmp_path / "m").exists() or list((tmp_path / "m").iterdir()) == []


def test_unreachable_mirror_fails_with_help(tmp_path):
    # a port nobody listens on: connection refused, at once
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127\.0\.0\.1:{port}/(.|\n)*place it at"):
        download_file(
            "x.gz",
            tmp_path,
            [f"http://127.0.0.1:{port}/"],
            None,
            timeout=0.5,
            retries=1,
            progress=False,
        )


def test_bad_arguments_rejected_before_network(tmp_path):
    with pytest.raises(ValueError, match="checksum='abc'"):
        download_file("x", tmp_path, ["http://127.0.0.1:9/"], "abc")
    with pytest.raises(ValueError, match="mirrors"):
        download_file("x", tmp_path, [], None)
