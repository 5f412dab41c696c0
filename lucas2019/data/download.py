"""Download one file from a list of mirrors: retries, timeout, progress bar, checksum, atomic.

The file is streamed into a temporary name beside the target and renamed only after its checksum
matched, so an interrupted or corrupt download never leaves a file that looks complete.
Standard library only (urllib), plus tqdm for the progress bar.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from lucas2019.io import atomic_write

CHUNK_BYTES = 1 << 16
ALGORITHMS = ("md5", "sha256")


class DownloadError(OSError):
    """Every mirror failed (network error, timeout, HTTP error or checksum mismatch)."""


class ChecksumMismatchError(DownloadError):
    """The bytes received do not have the expected checksum."""


def parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"md5:<hex>"`` or ``"sha256:<hex>"`` into (algorithm, lower-case hex digest)."""
    algo, sep, digest = str(checksum).partition(":")
    algo = algo.lower()
    if not sep or algo not in ALGORITHMS or not digest:
        raise ValueError(
            f"checksum={checksum!r}: expected 'md5:<hex>' or 'sha256:<hex>'. Write the algorithm, "
            "a colon, then the hex digest."
        )
    return algo, digest.strip().lower()


def _fetch(url: str, tmp: Path, algo: str, timeout: float, progress: bool, label: str) -> str:
    """Stream ``url`` into ``tmp``; return the hex digest. Raises on short reads and timeouts."""
    from tqdm.auto import tqdm

    h = hashlib.new(algo)
    request = urllib.request.Request(url, headers={"User-Agent": "lucas2019-data/0.1"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        received = 0
        with (
            open(tmp, "wb") as out,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=label,
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
    return h.hexdigest()


def download_file(
    filename: str,
    dest_dir: str | os.PathLike,
    mirrors: Sequence[str],
    checksum: str | None,
    *,
    timeout: float = 30.0,
    retries: int = 2,
    backoff: float = 0.5,
    progress: bool = True,
) -> Path:
    """Download ``filename`` into ``dest_dir`` from the first mirror that serves it intact.

    Args:
        filename: the file's name on the mirrors and on disk, e.g. ``"t10k-images-idx3-ubyte.gz"``.
        dest_dir: folder to write into (created if needed).
        mirrors: base URLs; the file's URL is ``mirror.rstrip('/') + '/' + filename``.
        checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"`` of the downloaded bytes, or None to skip.
        timeout: seconds allowed for connecting and for each read (a stalled server fails after it).
        retries: attempts per mirror for network errors (a checksum mismatch moves on at once).
        backoff: seconds to wait before a retry, doubled each time.
        progress: show a tqdm progress bar.

    Returns:
        the path of the complete, verified file.

    Raises:
        ValueError: bad arguments (before any network access).
        ChecksumMismatchError: every mirror failed and at least one served wrong bytes.
        DownloadError: every mirror failed; the message lists each URL and why.
    """
    if not mirrors:
        raise ValueError("mirrors=[]: give at least one base URL, e.g. ['https://host/mnist/'].")
    if timeout <= 0:
        raise ValueError(f"timeout={timeout!r}: must be > 0 seconds.")
    if retries < 1:
        raise ValueError(f"retries={retries!r}: must be >= 1 (attempts per mirror).")
    algo, expected = parse_checksum(checksum) if checksum is not None else ("sha256", None)
    dest = Path(dest_dir) / filename
    failures: list[str] = []
    mismatch = False
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + filename
        for attempt in range(retries):
            digest: list[str] = []

            def write(tmp: Path, url: str = url, digest: list[str] = digest) -> None:
                got = _fetch(url, tmp, algo, timeout, progress, filename)
                digest.append(got)
                if expected is not None and got != expected:
                    raise ChecksumMismatchError(f"{algo} {got}, expected {expected}")

            try:
                return atomic_write(dest, write)
            except ChecksumMismatchError as err:
                failures.append(f"{url}: checksum mismatch: {err}")
                mismatch = True
                break  # the same mirror will serve the same wrong bytes
            except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
                if isinstance(err, socket.timeout | TimeoutError):
                    why = f"timed out after {timeout} s"
                elif isinstance(err, http.client.IncompleteRead):
                    why = f"connection closed early ({err.expected} bytes missing)"
                else:
                    why = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
                failures.append(f"{url} (attempt {attempt + 1}/{retries}): {why}")
                if isinstance(err, urllib.error.HTTPError) and err.code == 404:
                    break
                if attempt + 1 < retries:
                    time.sleep(backoff * 2**attempt)
    cls = ChecksumMismatchError if mismatch else DownloadError
    raise cls(
        f"could not download {filename} into {dest.parent}; tried:\n  "
        + "\n  ".join(failures)
        + f"\nNo file was left at {dest}. Check the network or the mirror list, or download "
        f"{filename} by hand (any MNIST mirror) and place it at {dest}."
    )
