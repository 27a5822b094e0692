"""The day-partitioned analytics zone: the root follows the latest published day only, and the
daily series replaces one day's row. Expected values are written out by hand."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from hashlib import sha256

import pytest

from tasks.analytics.series import COLUMNS, day_row, read_series, update_series
from tasks.analytics.zone import promote, published_days, root_day
from tasks.resources.lake import Lake, get_lake

pytestmark = pytest.mark.unit
D1, D2, D3 = date(2017, 11, 16), date(2017, 11, 17), date(2017, 11, 18)


def put(lake: Lake, name: str, data: bytes) -> None:
    with lake.write_atomic("analytics", name) as out:
        out.write(data)


def publish_partition(lake: Lake, day: date, country: str = "ar,3\nus,1\n") -> None:
    """A partition as publish_files leaves it: the outputs, then the manifest."""
    files = {
        "country.csv": f"country,count\n{country}".encode(),
        "users.csv": b"custom_4,count\nCore User,6\nNew User,2\n",
        "active_students.csv": b"student_id,page_views\n1,5\n2,3\n3,1\n",
    }
    folder = f"day={day.isoformat()}/"
    for name, data in files.items():
        put(lake, folder + name, data)
    manifest = {
        "run_date": day.isoformat(),
        "outputs": {
            n: {"rows": d.count(b"\n") - 1, "bytes": len(d), "sha256": sha256(d).hexdigest()}
            for n, d in files.items()
        },
        "events": {"valid": 12, "identified": 9, "anonymous": 3, "null_country": 1},
    }
    put(lake, folder + "manifest.json", json.dumps(manifest).encode())


@pytest.fixture
def lake() -> Lake:
    lake = get_lake()
    lake.ensure_zones()
    return lake


def test_the_root_follows_the_latest_day_only(lake: Lake) -> None:
    publish_partition(lake, D2, country="ar,7\n")
    assert promote(lake, D2) and root_day(lake) == D2
    assert lake.read_bytes("analytics", "country.csv") == b"country,count\nar,7\n"
    publish_partition(lake, D1)  # an older day: its partition only
    assert not promote(lake, D1) and root_day(lake) == D2
    assert lake.read_bytes("analytics", "country.csv") == b"country,count\nar,7\n"
    assert lake.read_bytes("analytics", "day=2017-11-16/country.csv") == (
        b"country,count\nar,3\nus,1\n"
    )
    publish_partition(lake, D2, country="ar,8\n")  # the latest day again: the root moves
    assert promote(lake, D2)
    assert lake.read_bytes("analytics", "country.csv") == b"country,count\nar,8\n"
    publish_partition(lake, D3)
    assert promote(lake, D3) and root_day(lake) == D3
    assert published_days(lake) == [D1, D2, D3]


def test_a_partition_without_its_manifest_is_not_published(lake: Lake) -> None:
    put(lake, "day=2017-11-18/country.csv", b"country,count\n")
    publish_partition(lake, D1)
    assert published_days(lake) == [D1]
    assert not promote(lake, D3) and promote(lake, D1)


def test_a_root_of_a_later_day_written_before_partitions_is_not_rolled_back(lake: Lake) -> None:
    put(lake, "manifest.json", json.dumps({"run_date": D3.isoformat(), "outputs": {}}).encode())
    publish_partition(lake, D2)
    assert not promote(lake, D2) and root_day(lake) == D3


def test_the_series_row_of_a_day_from_its_partition(lake: Lake) -> None:
    publish_partition(lake, D1)
    row = day_row(lake, D1, {"students": 4, "courses": 1})
    assert row == {
        "day": "2017-11-16", "page_views": 12, "identified_views": 9, "active_students": 3,
        "foreign_share": "0.500000",  # (3 + 1) of the 9 - 1 identified views with a country
        "views_per_profile": "4.000000",  # (6 + 2) views over 2 profiles
        "new_versions_students": 4, "new_versions_universities": 0, "new_versions_courses": 1,
        "new_versions_subjects": 0, "match_ratio": "",  # a manifest without matches
    }  # fmt: skip


def test_the_series_replaces_the_day_row_keeps_the_others_sorted(lake: Lake) -> None:
    base = dict.fromkeys(COLUMNS[1:], 1)
    update_series(lake, {"day": "2017-11-17", **base})
    update_series(lake, {"day": "2017-11-16", **base})
    update_series(lake, {"day": "2017-11-17", **base, "page_views": 5})
    text = lake.read_bytes("analytics", "series/daily.csv").decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(COLUMNS)
    assert [(r[0], r[1]) for r in rows[1:]] == [("2017-11-16", "1"), ("2017-11-17", "5")]
    assert not [n for n in lake.list("analytics", "series/*") if n != "series/daily.csv"]
    assert [r["day"] for r in read_series(lake)] == ["2017-11-16", "2017-11-17"]


def test_the_match_ratio_comes_from_the_manifests_matches(lake: Lake) -> None:
    publish_partition(lake, D1)
    manifest = json.loads(lake.read_bytes("analytics", "day=2017-11-16/manifest.json"))
    manifest["matches"] = {"identified_views": 8, "matched_views": 6}
    put(lake, "day=2017-11-16/manifest.json", json.dumps(manifest).encode())
    assert day_row(lake, D1, {})["match_ratio"] == "0.750000"
