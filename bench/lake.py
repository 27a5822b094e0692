"""A gdrive:// lake against the floor of plain HTTP: listing and downloading a day of files.

The Drive emulator (tests/drive_emulator.py), in its own process, serves 1,000 files of 1 MiB
at scale 1 (about 1 GB) from disk on 127.0.0.1. The lake lists them and streams every one
through pydrive2's client (authorized httplib2, ranged media GETs, folder lookups, retries
armed); the floor asks the same emulator for the same listing pages and the same bytes with
http.client on one keep-alive connection. Each is measured twice, best of two, after a warm-up
pass so the page cache favours neither. `ratio` is the lake's seconds per floor second.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import quote, urlsplit

from tasks.resources.lake import Lake
from tasks.settings import CASE_STUDY_DATE, get_settings

FILE_BYTES = 1 << 20
READ_BLOCK = 1 << 20
DAY = CASE_STUDY_DATE.isoformat()
CHECKOUT = Path(__file__).resolve().parents[1]  # the emulator is test code: tests/ is not installed


def _import_emulator() -> type:
    """tests.drive_emulator.DriveEmulator from this checkout, whatever the entry point (`pdbi
    bench` does not put the checkout on sys.path, `python -m bench` from it does)."""
    if not (CHECKOUT / "tests" / "drive_emulator.py").is_file():
        raise RuntimeError(
            f"the lake benchmark needs a pdbi checkout: no tests/drive_emulator.py under {CHECKOUT}"
        )
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    from tests.drive_emulator import DriveEmulator

    return DriveEmulator


def _seed(emulator, root: str, files: int) -> str:  # noqa: ANN001 - a test helper's object
    """files x 1 MiB straight into the emulator's store under <root>/raw/<day>/."""
    day = emulator.add_folder(DAY, emulator.add_folder("raw", root))
    block = os.urandom(FILE_BYTES)
    for i in range(files):
        emulator.add_file(day, f"part-{i:05d}.json", f"{i:08d}".encode() + block[8:])
    return day


def _lake_pass(lake: Lake) -> int:
    total = 0
    for name in lake.list("raw", f"{DAY}/part-*.json"):
        with lake.open("raw", name) as handle:
            while chunk := handle.read(READ_BLOCK):
                total += len(chunk)
    return total


def _http_pass(url: str, token: str, folder: str) -> int:
    """The floor: the listing pages, then each file's bytes, over one connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    ids, page = [], ""
    while page is not None:
        q = quote(f"'{folder}' in parents and trashed = false")
        conn.request(
            "GET", f"/drive/v2/files?q={q}&maxResults=1000&pageToken={page}", headers=headers
        )
        listing = json.loads(conn.getresponse().read())
        ids += [item["id"] for item in listing["items"]]
        page = listing.get("nextPageToken")
    total = 0
    for file_id in ids:
        conn.request("GET", f"/drive/v2/files/{file_id}?alt=media", headers=headers)
        response = conn.getresponse()
        while chunk := response.read(READ_BLOCK):
            total += len(chunk)
    conn.close()
    return total


def _best_of_two(fn) -> tuple[float, int]:  # noqa: ANN001
    times, size = [], 0
    for _ in range(2):
        started = time.perf_counter()
        size = fn()
        times.append(time.perf_counter() - started)
    return min(times), size


def _serve(files: int, storage: str, pipe: Connection) -> None:
    """The emulator in its own process, as Drive is on another machine: the client's Python
    work does not share a GIL with the server's."""
    emulator = _import_emulator()(Path(storage)).start()
    root = emulator.add_folder("pdbi-lake")
    folder = _seed(emulator, root, files)
    pipe.send(
        {
            "url": emulator.url,
            "api_endpoint": emulator.api_endpoint,
            "root": root,
            "folder": folder,
            "token": emulator.issue_token(),
            "key": emulator.service_account(),
        }
    )
    pipe.recv()  # until the benchmark is done
    emulator.stop()


def bench_lake(scale: float) -> dict:
    """List and download int(1000 * scale) files of 1 MiB from the Drive emulator."""
    files = max(1, round(1000 * scale))
    tmp = Path(tempfile.mkdtemp(prefix="pdbi-bench-lake-"))
    here, there = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(files, str(tmp / "drive"), there)
    )
    server.start()
    there.close()  # the child's end: if the emulator dies, recv() raises instead of waiting
    try:
        info = here.recv()
        key = tmp / "key.json"
        key.write_text(json.dumps(info["key"]))
        os.environ.update(
            PDBI_GDRIVE_CREDENTIALS=str(key), PDBI_GDRIVE_API_ENDPOINT=info["api_endpoint"]
        )
        get_settings.cache_clear()
        lake = Lake(f"gdrive://{info['root']}")
        floor = lambda: _http_pass(info["url"], info["token"], info["folder"])  # noqa: E731
        floor()  # warm-up: page cache, connections
        lake_seconds, lake_bytes = _best_of_two(lambda: _lake_pass(lake))
        floor_seconds, floor_bytes = _best_of_two(floor)
        assert lake_bytes == floor_bytes == files * FILE_BYTES
    finally:
        here.send("stop")
        server.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
        for var in ("PDBI_GDRIVE_CREDENTIALS", "PDBI_GDRIVE_API_ENDPOINT"):
            os.environ.pop(var, None)
        get_settings.cache_clear()
    return {
        "stage": "lake gdrive list+download",
        "rows": files,
        "seconds": round(lake_seconds, 3),
        "floor": "plain HTTP GET of the same listing and bytes, same emulator",
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(lake_seconds / floor_seconds, 2),
        "bytes": lake_bytes,
        "mb_per_s": round(lake_bytes / lake_seconds / 1e6, 1),
        "floor_mb_per_s": round(floor_bytes / floor_seconds / 1e6, 1),
    }


if __name__ == "__main__":
    print(bench_lake(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0))
