"""The S3 source's listing by name ranges (s3objects.list_window_names): a skip-scan from one group of
names (a log kind of one account and region) to the next, each group's load balancers found by one
listing delimited at `_`, then each one's names over the window's end times. Checked against
the whole-folder listing (s3objects.list_window, what the estimate lists) on folders laid out as ALB
writes them (tests/pruning_data.py), over moto's S3 server behind the loopback proxy that counts the
LIST requests as S3 would bill them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alb502athena.aws import session
from alb502athena.objectname import (
    access_log_prefix,
    end_time_range,
    may_hold,
    name_group,
    name_prefix,
    parse,
)
from alb502athena.s3objects import UNRECOGNISED, Listing, list_window, list_window_names, source_day_folders
from alb502athena.s3source import s3_client
from alb502athena.window import Window
from tests.aws import MotoServer, fill_bucket
from tests.pruning_data import ACCOUNT, FOLDER, LOAD_BALANCERS, REGION, edge_logs
from tests.s3proxy import S3Proxy

BUCKET = "alb-skipscan"
SMALL, BIG = "small", "big"  # the same load balancers: 4 hours of objects, and 26
SMALL_ROOT, BIG_ROOT = f"s3://{BUCKET}/{SMALL}/{FOLDER}", f"s3://{BUCKET}/{BIG}/{FOLDER}"
NLB = f"{ACCOUNT}_elasticloadbalancing_{REGION}_net.shop.0123456789abcdef_20261120T2325Z_a1b2c3.log.gz"
CLASSIC = f"{ACCOUNT}_elasticloadbalancing_{REGION}_shop_20261120T2325Z_10.0.0.9_a1b2c3.log.gz"
# Names that are no ELB object's, in the day folder of 2026-11-20: before, between and after the logs.
UNRECOGNISED_NAMES = ("0-readme.txt", "5/nested.log.gz", "conn_log_x.txt", "notes.txt", "zz.txt")
WINDOWS = {
    # A file ends exactly at the start (23:20); late entries in files up to 23:50.
    "edges": Window.from_options(None, "2026-11-20T23:20Z", "2026-11-20T23:35Z"),
    "midnight": Window.from_options(None, "2026-11-20T23:50Z", "2026-11-21T00:10Z"),
    "seconds": Window.from_options(None, "2026-11-20T22:30:30Z", "2026-11-20T23:00Z"),
    "after midnight": Window.from_options(None, "2026-11-21T00:30Z", "2026-11-21T01:00Z"),
}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        SMALL: edge_logs(
            tmp_path_factory.mktemp("small"), datetime(2026, 11, 20, 22, 0, tzinfo=UTC), hours=4
        ),
        BIG: edge_logs(tmp_path_factory.mktemp("big")),  # 2026-11-19T23:00 to 2026-11-21T01:00
    }


@pytest.fixture
def bucket(
    aws: MotoServer, proxy: S3Proxy, logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Every key put; the client then reaches moto through the proxy."""
    objects: dict[str, bytes] = {}
    for top, root in logs.items():
        for path in root.rglob("*.log.gz"):
            objects[f"{top}/{path.relative_to(root).as_posix()}"] = path.read_bytes()
        for name in (NLB, CLASSIC, *UNRECOGNISED_NAMES):
            objects[f"{top}/{FOLDER}/2026/11/20/{name}"] = b"x"
    fill_bucket(BUCKET, objects.items())
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    proxy.reset()
    return list(objects)


def client() -> Any:
    return s3_client(session(None, None), 4)


def whole(root: str, window: Window, load_balancers: tuple[str, ...] = ()) -> list[str]:
    """The keys the whole-folder listing selects."""
    listing = list_window(client(), root, window, load_balancers, keep_keys=True)
    assert listing is not None and listing.keys is not None
    return sorted(listing.keys)


def by_ranges(proxy: S3Proxy, root: str, window: Window, *args: Any, **kwargs: Any) -> tuple[Listing, int]:
    """The listing by name ranges, and the LIST requests it sent."""
    before = proxy.requests["list"]
    listing = list_window_names(client(), root, window, *args, keep_objects=True, **kwargs)
    assert listing is not None and listing.objects is not None
    return listing, proxy.requests["list"] - before


def put(bucket: str, objects: dict[str, bytes], proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """`objects` in a bucket of moto's of their own, which the test's client then reaches through the
    proxy (reset)."""
    fill_bucket(bucket, objects.items())
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    proxy.reset()


def window_names(root: str, window: Window, **limits: int) -> Listing:
    """The listing by name ranges, its objects kept."""
    listing = list_window_names(client(), root, window, keep_objects=True, **limits)
    assert listing is not None and listing.objects is not None
    return listing


TEN_AM = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T10:05Z")  # end times 10:00-10:20


def groups(keys: list[str], top: str, day: str) -> int:
    """The load balancers and kinds (name prefixes) with names in one day folder."""
    folder = f"{top}/{FOLDER}/{day}/"
    return len({name_prefix(k[len(folder) :]) for k in keys if k.startswith(folder)} - {None})


def kinds(keys: list[str], top: str, day: str) -> int:
    """The groups of names (objectname.name_group: a log kind of one account and region) in one day folder."""
    folder = f"{top}/{FOLDER}/{day}/"
    return len({name_group(k[len(folder) :]) for k in keys if k.startswith(folder)} - {None})


def expected_lists(keys: list[str], top: str, day: str) -> int:
    """The LIST requests of a day folder's skip-scan: a step to each group, one per name that is no ELB
    object's and one to find the folder's end; a delimited listing of each group; a range per load
    balancer and kind (each under 1,000 names)."""
    return 2 * kinds(keys, top, day) + unrecognised(keys, top, day) + 1 + groups(keys, top, day)


def unrecognised(keys: list[str], top: str, day: str) -> int:
    folder = f"{top}/{FOLDER}/{day}/"
    return sum(1 for k in keys if k.startswith(folder) and name_prefix(k[len(folder) :]) is None)


@pytest.mark.parametrize("name", WINDOWS)
def test_the_same_selection_as_the_whole_folders(bucket: list[str], proxy: S3Proxy, name: str) -> None:
    window = WINDOWS[name]
    for top, root in ((SMALL, SMALL_ROOT), (BIG, BIG_ROOT)):
        listing, lists = by_ranges(proxy, root, window)
        assert listing.objects is not None
        assert sorted(k for k, _, _ in listing.objects) == whole(root, window), (top, name)
        assert listing.objects and listing.coverage == "window" and listing.listed_whole == []
        assert lists == sum(expected_lists(bucket, top, day) for day in listing.days), (top, name)
    # The other log types set aside are those whose names fall in the window, by kind, and every
    # unrecognised name of the folders listed.
    assert window.start is not None and window.end is not None
    small, _ = by_ranges(proxy, SMALL_ROOT, window)
    counted: dict[str, int] = {}
    for key in bucket:
        below = key.removeprefix(f"{SMALL}/{FOLDER}/")
        day, leaf = below[:10], below[11:]  # yyyy/mm/dd, then the name (a nested key's holds a slash)
        if not key.startswith(f"{SMALL}/{FOLDER}/") or day not in small.days:
            continue
        parsed = parse(leaf)
        if parsed is None:
            counted[UNRECOGNISED] = counted.get(UNRECOGNISED, 0) + 1
        elif parsed.set_aside_as is not None and may_hold(parsed.end_time, window.start, window.end):
            counted[parsed.set_aside_as] = counted.get(parsed.set_aside_as, 0) + 1
    assert {k: t.objects for k, t in small.set_aside.items()} == counted


def test_requests_do_not_grow_with_the_objects_outside_the_window(bucket: list[str], proxy: S3Proxy) -> None:
    window = WINDOWS["edges"]
    small, small_lists = by_ranges(proxy, SMALL_ROOT, window)
    big, big_lists = by_ranges(proxy, BIG_ROOT, window)
    folder = f"{BIG}/{FOLDER}/2026/11/20/"
    assert sum(1 for k in bucket if k.startswith(folder)) > 5000  # a whole listing: 6 pages at least
    # 3 groups (a step to each, a delimited listing of each), 3 load balancers' 3 kinds and the Network
    # and Classic ones' access logs (a range each), the names stepped over, the folder's end.
    assert big_lists == small_lists == 3 * 2 + 3 * 3 + 2 + len(UNRECOGNISED_NAMES) + 1
    assert small.days == big.days == ("2026/11/20",)
    assert len(big.objects or []) == len(small.objects or []) == 7 * 3 * 2  # 23:20 to 23:50


def test_a_name_ending_at_the_first_end_time_is_kept(bucket: list[str], proxy: S3Proxy) -> None:
    window = WINDOWS["edges"]
    assert window.start is not None and window.end is not None
    first, last = end_time_range(window.start, window.end)
    listing, _ = by_ranges(proxy, SMALL_ROOT, window)
    ends = sorted({k.split("_")[-3] for k, _, _ in listing.objects or []})
    assert ends[0] == f"{first:%Y%m%dT%H%MZ}" == "20261120T2320Z"
    assert ends[-1] == f"{last:%Y%m%dT%H%MZ}" == "20261120T2350Z"


def test_the_next_day_folder_only_when_the_last_end_time_crosses_midnight() -> None:
    assert source_day_folders(WINDOWS["edges"]) == ["2026/11/20"]
    assert source_day_folders(WINDOWS["midnight"]) == ["2026/11/20", "2026/11/21"]
    # 23:45 + 15 minutes: the last end time is midnight itself, filed under the next day.
    late = Window.from_options(None, "2026-11-20T23:00Z", "2026-11-20T23:45Z")
    assert source_day_folders(late) == ["2026/11/20", "2026/11/21"]
    early = Window.from_options(None, "2026-11-20T23:00Z", "2026-11-20T23:44Z")
    assert source_day_folders(early) == ["2026/11/20"]
    # The `day` partitions a query reads still take the next day always.
    assert WINDOWS["edges"].day_folders() == ["2026/11/20", "2026/11/21"]


def test_too_many_unrecognised_names_list_the_folder_whole(bucket: list[str], proxy: S3Proxy) -> None:
    window = WINDOWS["edges"]
    listing, lists = by_ranges(proxy, SMALL_ROOT, window, unrecognised_limit=2)
    folder = f"{SMALL}/{FOLDER}/2026/11/20"
    assert listing.listed_whole == [folder]
    assert sorted(k for k, _, _ in listing.objects or []) == whole(SMALL_ROOT, window)
    # Every unrecognised name counted: the first two stepped over, the rest in the whole listing.
    assert listing.set_aside[UNRECOGNISED].objects == len(UNRECOGNISED_NAMES)
    # "0-readme.txt" stepped over, the access logs' group before "5/nested.log.gz" (a step, its
    # delimited listing, the ranges of app's 3, net's and the Classic one's), that name, then the rest of
    # the folder: 1 page.
    assert lists == 1 + 2 + 5 + 1 + 1


def test_a_load_balancer_given(bucket: list[str], proxy: S3Proxy) -> None:
    window = WINDOWS["midnight"]
    for lb in (
        "app/shop/50dc6c495c0c9188",
        "app/shop-prod/0f1e2d3c4b5a6978",
    ):  # one's name starts the other's
        assert lb in LOAD_BALANCERS
        listing, lists = by_ranges(proxy, BIG_ROOT, window, [lb])
        keys = sorted(k for k, _, _ in listing.objects or [])
        assert keys == whole(BIG_ROOT, window, (lb,)) and keys
        assert {lb_.load_balancer for lb_ in listing.load_balancers.values()} == {lb}
        assert lists == 3 * 2  # its access, connection and health-check logs, in two day folders
        # Its other log types in the window are counted: 23:50 to 00:25, two nodes.
        assert {k: t.objects for k, t in listing.set_aside.items()} == {"connection": 16, "health_check": 16}


def test_nothing_of_the_load_balancer_in_the_window_is_said(bucket: list[str], proxy: S3Proxy) -> None:
    from alb502athena.errors import InputError
    from alb502athena.s3source import plan

    late = Window.from_options(None, "2026-11-21T05:00Z", "2026-11-21T06:00Z")  # the objects end at 02:00
    lb = LOAD_BALANCERS[0]
    with pytest.raises(
        InputError, match=f"no ALB access log of {lb} in the window .* no access-log name of {lb} falls"
    ):
        plan(client(), f"s3://{BUCKET}/{SMALL}", late, load_balancer=lb)
    # Without it, the skip-scan saw the load balancers' names, outside the window: it says so.
    with pytest.raises(
        InputError, match=r"the ALB access logs of app/a-b-1/aaaaaaaaaaaaaaaa, .* are all outside"
    ):
        plan(client(), f"s3://{BUCKET}/{SMALL}", late)


def test_a_range_is_asked_for_about_the_windows_names(bucket: list[str], proxy: S3Proxy) -> None:
    # An answer costs about the same per name, for S3 to send and for botocore to parse: a range's first
    # page asks for about the window's names (NAMES_PER_END_TIME per end time), not for the rest of the
    # day folder's (13 more hours here, 312 names per load balancer and kind), and one request does.
    window = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T10:15Z")
    proxy.names_listed.clear()
    listing, lists = by_ranges(proxy, BIG_ROOT, window)
    answered = list(proxy.names_listed)
    assert listing.objects is not None
    assert sorted(k for k, _, _ in listing.objects) == whole(BIG_ROOT, window)
    assert lists == expected_lists(bucket, BIG, "2026/11/20")
    # End times 10:00 to 10:30 (the late-entry margin): 7, and one partial span each side, four names
    # each (NAMES_PER_END_TIME): far from the 336 names after them.
    assert max(answered) <= 4 * (7 + 2)


def test_the_steps_in_sequence_do_not_grow_with_the_load_balancers(
    aws: MotoServer, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy account: 40 load balancers writing to one folder. The skip-scan's steps run one after the
    # other (each needs the last one's answer); a step per load balancer and kind was 121 round trips
    # here. Now a step per group finds them, and the rest runs on the pool.
    lbs = [f"app/lb-{i:02d}/{i:016x}" for i in range(40)]
    day = f"many/{FOLDER}/2026/11/20/"
    ends = [f"20261120T{h:02d}{m:02d}Z" for h, m in ((9, 50), (9, 55), (10, 0), (10, 5), (10, 10), (10, 40))]
    objects = {
        f"{day}{kind}{access_log_prefix(ACCOUNT, REGION, lb)}{end}_10.0.1.37_r{n}.log.gz": b"x"
        for n, lb in enumerate(lbs)
        for end in ends
        for kind in ("", "conn_log_", "health_check_log_")
    }
    put("alb-many", objects, proxy, monkeypatch)
    root = f"s3://alb-many/many/{FOLDER}"
    window = Window.from_options(None, "2026-11-20T10:00Z", "2026-11-20T10:15Z")  # end times 10:00-10:30
    listing = window_names(root, window)
    queries = list(proxy.list_queries)
    steps = [q for q in queries if q.get("max-keys") == "1"]
    delimited = [q for q in queries if q.get("delimiter") == "_"]
    assert len(steps) == 3 + 1  # to the access, connection and health-check logs' groups, then the end
    assert len(delimited) == 3
    assert len(queries) == len(steps) + len(delimited) + 40 * 3  # and a range per load balancer and kind
    keys = sorted(k for k, _, _ in listing.objects)
    assert keys == whole(root, window)
    assert len(keys) == 40 * 3  # 10:00, 10:05, 10:10
    assert {lb.load_balancer for lb in listing.load_balancers.values()} == set(lbs) == listing.seen
    assert {k: t.objects for k, t in listing.set_aside.items()} == {"connection": 120, "health_check": 120}


def test_the_accounts_and_regions_are_listed_at_once(
    aws: MotoServer, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An organisation's log bucket: one folder per account. Each folder is a few round trips in sequence;
    # one after the other, hundreds of accounts took minutes. One account's day folder is held by the
    # proxy: the others' are listed meanwhile (one after the other, none of them was).
    import threading
    import time

    from alb502athena.s3source import plan

    accounts = [f"10000000000{i}" for i in range(1, 7)]
    objects = {
        f"org/AWSLogs/{acct}/elasticloadbalancing/{REGION}/2026/11/20/"
        f"{access_log_prefix(acct, REGION, 'app/shop/50dc6c495c0c9188')}20261120T1005Z_10.0.1.37_r{acct}.log.gz": b"x"
        for acct in accounts
    }
    put("alb-orgs", objects, proxy, monkeypatch)
    held = f"AWSLogs/{accounts[0]}/elasticloadbalancing/{REGION}/2026/"
    proxy.add("stall", held, op="list", times=1)
    window = TEN_AM
    result: dict[str, Any] = {}
    said: list[str] = []  # the progress line's texts (on a terminal)

    def planned() -> None:
        result.update(plan=plan(client(), "s3://alb-orgs/org", window, progress=said.append))

    thread = threading.Thread(target=planned)
    thread.start()
    try:
        assert proxy.wait_stalled(1, timeout=30)

        def others_listed() -> set[str]:
            return {
                acct
                for q in list(proxy.list_queries)
                for acct in accounts[1:]
                if q.get("prefix", "").endswith(f"/{acct}/elasticloadbalancing/{REGION}/2026/11/20/")
            }

        def held_answered() -> int:  # the held request is counted once answered; its retry likewise
            return sum(1 for q in list(proxy.list_queries) if q.get("prefix", "").endswith(held + "11/20/"))

        deadline = time.monotonic() + 30
        while others_listed() != set(accounts[1:]) and time.monotonic() < deadline:
            time.sleep(0.05)
        # Listed while the held one had no answer (not after botocore gave up on it and asked again).
        assert others_listed() == set(accounts[1:]) and held_answered() == 0
        assert "plan" not in result
    finally:
        proxy.release()
        thread.join(60)
    found = result["plan"]
    assert found.accounts() == accounts  # in their order, whatever order the listings ended in
    assert sorted(o.key for o in found.objects) == sorted(objects)
    # How many folders are listed so far, then the line cleared.
    assert said[-2:] == ["Listing 6 account/region folders: 6 done", ""]
    assert "Listing 6 account/region folders: 1 done" in said


def test_a_name_stepped_over_in_a_group_is_counted_once(
    aws: MotoServer, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name that starts as a group's but is no ELB object's, sorting first in the group: the skip-scan
    # steps over it (and counts it), then the group's delimited listing starts after it (it was listed
    # and counted a second time).
    day = f"odd/{FOLDER}/2026/11/20/"
    group = f"{ACCOUNT}_elasticloadbalancing_{REGION}_"
    lb = access_log_prefix(ACCOUNT, REGION, LOAD_BALANCERS[0])
    objects = {f"{day}{group}0-readme.txt": b"x", f"{day}{lb}20261120T1005Z_10.0.1.37_r1.log.gz": b"x"}
    put("alb-odd", objects, proxy, monkeypatch)
    root = f"s3://alb-odd/odd/{FOLDER}"
    window = TEN_AM
    listing = window_names(root, window)
    assert (
        [k for k, _, _ in listing.objects]
        == whole(root, window)
        == [f"{day}{lb}20261120T1005Z_10.0.1.37_r1.log.gz"]
    )
    assert {k: t.objects for k, t in listing.set_aside.items()} == {UNRECOGNISED: 1}


def test_a_crowded_group_is_listed_whole_past_its_limit(
    aws: MotoServer, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Names made in bulk (AWS allows a region 50 load balancers of a type by default): past the group's
    # limit, the rest of the group is listed whole and read as counted, rather than a listing, and an
    # answer held, per prefix: memory and requests stay bounded whatever the bucket holds.
    day = f"crowd/{FOLDER}/2026/11/20/"
    group = f"{ACCOUNT}_elasticloadbalancing_{REGION}_"
    lbs = [f"app/lb-{i}/{i:016x}" for i in range(8)]
    objects = {
        f"{day}{access_log_prefix(ACCOUNT, REGION, lb)}{end}_10.0.1.37_r{n}.log.gz": b"x"
        for n, lb in enumerate(lbs)
        for end in ("20261120T0950Z", "20261120T1005Z", "20261120T1040Z")
    }
    objects[f"{day}{group}zz.txt"] = b"x"  # right under the group, after the limit: counted once
    put("alb-crowd", objects, proxy, monkeypatch)
    root = f"s3://alb-crowd/crowd/{FOLDER}"
    window = TEN_AM
    listing = window_names(root, window, group_limit=5)
    assert listing.crowded == [day + group] and listing.listed_whole == []
    keys = [k for k, _, _ in listing.objects]
    assert sorted(keys) == whole(root, window) and len(keys) == len(set(keys)) == 8
    assert {k: t.objects for k, t in listing.set_aside.items()} == {UNRECOGNISED: 1}
    ranges = [q for q in proxy.list_queries if q.get("start-after", "").endswith("T1000Z")]
    assert len(ranges) == 5  # one per load balancer up to the limit; the rest in one listing
    rest = [q for q in proxy.list_queries if q.get("prefix") == day + group and "delimiter" not in q]
    assert [q["start-after"] for q in rest] == [f"{day}{group}app.lb-4.0000000000000004_~"]


def test_a_folder_of_many_groups_is_listed_whole_past_its_limit(
    aws: MotoServer, proxy: S3Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ALB writes four groups to a day folder (access, `conn_log_`, `conn_log.`, health-check logs of its
    # own account and region); names of ten other accounts were copied there: past eight groups, the
    # rest of the folder is listed whole and read as counted, as past too many unrecognised names.
    from alb502athena.s3objects import GROUPS

    day = f"many-groups/{FOLDER}/2026/11/20/"
    accounts = [f"2000000000{i:02d}" for i in range(10)]
    objects = {
        f"{day}{access_log_prefix(acct, REGION, LOAD_BALANCERS[0])}20261120T1005Z_10.0.1.37_r.log.gz": b"x"
        for acct in accounts
    }
    put("alb-many-groups", objects, proxy, monkeypatch)
    root = f"s3://alb-many-groups/many-groups/{FOLDER}"
    window = TEN_AM
    listing = window_names(root, window)
    assert listing.listed_whole == [day.rstrip("/")]
    assert sorted(k for k, _, _ in listing.objects) == whole(root, window) == sorted(objects)
    steps = [q for q in proxy.list_queries if q.get("max-keys") == "1"]
    assert len(steps) == GROUPS + 1  # a step to each group up to the limit, and the one past it
