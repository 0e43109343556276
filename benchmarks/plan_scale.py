"""Planner speed and memory at scale, beside a columnar reference computed on the same ledger.

    python benchmarks/plan_scale.py --skus 1000000 --json

The world: N SKUs x 2 locations x 4 channels (``_world.py``). Every pair differs from what the
channels last acknowledged (quantity 0), so the full plan builds a planned item for nearly every
pair: the worst case, a first sync. Plans are consumed chunk by chunk, as the pusher consumes them.

The ledger is built in this process (``build_s``, ``build_peak_rss_mb``); the planner runs in a
process of its own started on that ledger, as a daemon restarting on it would, so its memory is its
own: ``start_rss_mb`` once the engine has started (listings ensured), ``planner_peak_rss_mb`` at the
end. Figures (``*_s`` wall clock, ``*_cpu_s`` CPU time of the process, which includes the thread that
reads the next chunk while one is planned):

* ``full_plan_s``: every pair of every channel, the channels planned together
  (``Engine.iter_plan_channels``), the changes counted and summed from their columns
  (``Changes.columns``): no planned item is built, as none is until a push reads a chunk's changes;
  ``full_plan_built_s``: the same with every item built, what the pushes pay for them before their
  first call; ``full_plan_per_channel_s`` (unless ``--no-per-channel``): one
  channel after the other (``Engine.iter_plan``, as a reconcile of one channel does).
* ``incremental_plan_s``: the dirty pairs of ``--dirty`` SKUs over every channel, planned together;
  ``incremental_plan_per_channel_s``: the same through ``Engine.plan`` per channel, as a cycle does.
* ``nothing_plan_s``: the full plan again once every pair is acknowledged at its planned value (the
  planner must then find nothing to change: ``nothing_plan_changes`` is 0), and
  ``nothing_plan_settled`` the pairs a reconcile would then write back as unchanged (0: only pairs
  read dirty are settled, and the acknowledged ones are clean).
* ``reference_*``: the same full plans computed directly with sqlite3 and numpy on the same ledger
  file (whole tables read as columns, the documented arithmetic in array form, prices through
  ``price_for`` once per distinct master price), and ``*_vs_reference`` the planner's time over the
  reference's, so that the ratio is tracked in every run. ``agrees`` says the planner and the
  reference found the same changed pairs (count and a checksum over channel, SKU, quantity, price).

``--repeat N`` times the full plans (the planner's and the reference's) N times each and reports the
best of each figure (the least noisy estimate on a shared machine; the default 1 is a single run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _world import build, engine_of, reopen, unsynced
from sqlalchemy import update

from omnisync.engine.runtime import Engine
from omnisync.kits import sales_shares
from omnisync.ledger.tables import LI
from omnisync.pricing import price_for

MODULUS = 2**61 - 1


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of the process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


REPEAT = 1
"""Runs of each full plan; the best wall and the best CPU time are reported (``--repeat``)."""


def best(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """:func:`timed` of ``work`` run :data:`REPEAT` times: its result, the least wall and CPU time."""
    runs = [timed(work) for _ in range(REPEAT)]
    return runs[-1][0], min(r[1] for r in runs), min(r[2] for r in runs)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` is the peak of this program alone:
    ``ru_maxrss`` would carry over the parent's peak at the time it started this process."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kib / 1024, 1)


def fingerprint(channel: int, product_ids: Any, quantities: Any, repriced: Any) -> Any:
    """The changed pairs (arrays: product id, quantity pushed or -1, price pushed), as the planner and
    the reference both sum them."""
    return channel * 1_000_003 + product_ids * 7919 + quantities * 31 + repriced.astype(np.int64)


# ------------------------------------------------------------------------------------------ planner


def full_together(engine: Engine, ack: sqlite3.Connection | None = None) -> tuple[int, int, int]:
    """(changes, checksum, pairs to settle) of the full plan; with ``ack``, every planned value is
    then acknowledged. The pairs to settle are those a reconcile would write back as unchanged."""
    changes = checksum = settle = 0
    ids = {name: rt.channel_id for name, rt in engine.channels.items()}
    for chunk in engine.iter_plan_channels(list(engine.channels), all_pairs=True):
        acks = []
        for name, (items, unchanged) in chunk.items():
            changes += len(items)
            settle += len(unchanged)
            cid = ids[name]
            pids, quantities, repriced = items.columns()  # no item built: a push builds them as it sends
            checksum += int(fingerprint(cid, pids, quantities, repriced).sum())
            if ack is not None:
                acks += [
                    (i.quantity, None if i.price is None else str(i.price), cid, i.product_id) for i in items
                ]
        if ack is not None:
            with ack:
                ack.executemany(
                    "UPDATE listing SET acked_quantity = coalesce(?, acked_quantity),"
                    " acked_price = coalesce(?, acked_price), dirty = 0"
                    " WHERE channel_id = ? AND product_id = ?",
                    acks,
                )
    return changes, checksum % MODULUS, settle


def full_built(engine: Engine) -> int:
    """The full plan with every planned item built, as the pushes build them when they send."""
    return sum(
        sum(1 for _ in items)
        for chunk in engine.iter_plan_channels(list(engine.channels), all_pairs=True)
        for items, _ in chunk.values()
    )


def full_per_channel(engine: Engine) -> int:
    return sum(len(items) for name in engine.channels for items, _ in engine.iter_plan(name, all_pairs=True))


def mark_dirty(engine: Engine, pids: list[int]) -> None:
    with engine.ledger.engine.begin() as conn:
        conn.execute(update(LI).where(LI.c.product_id.in_(pids)).values(dirty=True))


async def planner_side(folder: Path, skus: int, dirty: int, per_channel: bool) -> dict[str, object]:
    """Everything the planner does, in this process (its peak RSS is the planner's own)."""
    t0, c0 = time.perf_counter(), time.process_time()
    engine = await reopen(folder)
    out: dict[str, object] = {
        "start_s": round(time.perf_counter() - t0, 2),
        "start_cpu_s": round(time.process_time() - c0, 2),
        "start_rss_mb": peak_rss_mb(),
    }
    channels = list(engine.channels)
    (full, checksum, _), wall, cpu = best(lambda: full_together(engine))
    out |= {
        "full_plan_s": round(wall, 2),
        "full_plan_cpu_s": round(cpu, 2),
        "full_plan_changes": full,
        "full_plan_checksum": checksum,
    }
    built, wall, cpu = timed(lambda: full_built(engine))
    assert built == full
    out |= {"full_plan_built_s": round(wall, 2), "full_plan_built_cpu_s": round(cpu, 2)}
    if per_channel:
        _, wall, cpu = timed(lambda: full_per_channel(engine))
        out |= {"full_plan_per_channel_s": round(wall, 2), "full_plan_per_channel_cpu_s": round(cpu, 2)}

    step = max(1, skus // dirty)
    pids = list(range(1, skus + 1, step))[:dirty]
    mark_dirty(engine, pids)
    changes, wall, cpu = timed(
        lambda: sum(
            len(items) for chunk in engine.iter_plan_channels(channels) for items, _ in chunk.values()
        )
    )
    out |= {
        "dirty_skus": len(pids),
        "incremental_plan_s": round(wall, 3),
        "incremental_plan_cpu_s": round(cpu, 3),
        "incremental_changes": changes,
    }
    _, wall, cpu = timed(lambda: sum(len(engine.plan(name)) for name in channels))
    out |= {
        "incremental_plan_per_channel_s": round(wall, 3),
        "incremental_plan_per_channel_cpu_s": round(cpu, 3),
    }

    # every pair acknowledged at its planned value: the next full plan has nothing to change
    with sqlite3.connect(folder / "bench.db") as ack:
        full_together(engine, ack)
    ack.close()
    (nothing, _, settle), wall, cpu = timed(lambda: full_together(engine))
    out |= {
        "nothing_plan_s": round(wall, 2),
        "nothing_plan_cpu_s": round(cpu, 2),
        "nothing_plan_changes": nothing,
        "nothing_plan_settled": settle,
    }
    await engine.aclose()
    out["planner_peak_rss_mb"] = peak_rss_mb()
    return out


# ------------------------------------------------------------------------------------------ reference


def columns(con: sqlite3.Connection, sql: str, width: int, integers: Iterable[int] = ()) -> list[Any]:
    """The columns of ``sql``'s result, each built by SQLite as one value: the integer columns as
    comma-separated text parsed by numpy, the others as JSON arrays (the quickest way out of sqlite3
    we know, the one the planner's read uses too)."""
    whole = set(integers)
    packed = ", ".join(
        f"group_concat(c{i})" if i in whole else f"json_group_array(c{i})" for i in range(width)
    )
    row = con.execute(f"SELECT {packed} FROM ({sql})").fetchone()
    return [
        np.fromstring(v or "", dtype=np.int64, sep=",") if i in whole else json.loads(v)
        for i, v in enumerate(row)
    ]


def decimal(raw: Any) -> Decimal:
    return raw if isinstance(raw, Decimal) else Decimal(f"{raw:.4f}" if isinstance(raw, float) else raw)


def reference_plan(db: Path, lanes: Iterable[tuple[int, Any]]) -> tuple[int, int]:
    """(changes, checksum) of the full plan, computed directly from the ledger file's columns.

    ``lanes``: (channel id, the channel's rules) for channels with channel-wide rules only (the
    benchmark world has no per-SKU or per-tag override).
    """
    con = sqlite3.connect(db)
    ids, active, price, currency = columns(
        con, "SELECT id c0, active c1, price c2, currency c3 FROM product ORDER BY id", 4, (0, 1)
    )
    on = active != 0
    s_pid, s_loc, s_on_hand, s_reserved = columns(
        con, "SELECT product_id c0, location_id c1, on_hand c2, reserved c3 FROM stock", 4, range(4)
    )
    codes = {code: lid for lid, code in con.execute("SELECT id, code FROM location")}
    k_kit, k_component, k_quantity = columns(
        con, "SELECT kit_id c0, component_id c1, quantity c2 FROM kit_component ORDER BY kit_id", 3, range(3)
    )
    base: dict[int, Any] = {}
    for lid in codes.values():  # on_hand - reserved per product at each location (0 without a record)
        mine = s_loc == lid
        column = np.zeros(len(ids), dtype=np.int64)
        column[np.searchsorted(ids, s_pid[mine])] = s_on_hand[mine] - s_reserved[mine]
        base[lid] = column
    l_cid_a, l_pid_a, l_known, acked, l_price = columns(
        con,
        "SELECT channel_id c0, product_id c1, acked_quantity IS NOT NULL c2,"
        " coalesce(acked_quantity, 0) c3, acked_price c4 FROM listing WHERE NOT missing",
        5,
        range(4),
    )
    con.close()
    available = {
        cid: shared(cid, ids, base, (k_kit, k_component, k_quantity), l_cid_a, l_pid_a) for cid, _ in lanes
    }
    known = l_known != 0
    numbered: dict[Decimal, int] = {}
    raw_code = {r: -1 if r is None else numbered.setdefault(decimal(r), len(numbered)) for r in set(l_price)}
    acked_price = np.array([raw_code[r] for r in l_price], dtype=np.int64)
    keys = list(zip(price, currency, strict=True))
    key_index = {k: n for n, k in enumerate(dict.fromkeys(keys))}
    key_of = np.array([key_index[k] for k in keys], dtype=np.int64)
    changes = checksum = 0
    for cid, rules in lanes:
        mine = l_cid_a == cid
        at = np.searchsorted(ids, l_pid_a[mine])
        q_rules = rules.quantity
        pool = np.zeros(len(at), dtype=np.int64)
        for code in rules.sources:
            kept = q_rules.source_buffers.get(code, 0)
            pool += np.maximum(available[cid][codes[code]][at] - kept, 0)
        q = pool * q_rules.share // 100
        num, den = q_rules.buffer_percent.as_integer_ratio()
        q = q - q_rules.buffer_units - (-((-pool * num) // (den * 100)))
        if q_rules.max_quantity is not None:
            q = np.minimum(q, q_rules.max_quantity)
        if q_rules.out_of_stock_below is not None:
            q = np.where(q < q_rules.out_of_stock_below, 0, q)
        offered = np.where(on[at], np.maximum(q, 0), 0)
        push = ~known[mine] | (acked[mine] != offered)
        reprice = np.zeros(len(at), dtype=np.bool_)
        if rules.push_prices:
            results = [price_for(decimal(k[0]), k[1], rules.price) for k in key_index]
            wanted = np.array([numbered.setdefault(r.price, len(numbered)) for r in results], dtype=np.int64)
            reprice = wanted[key_of[at]] != acked_price[mine]
        changed = push | reprice
        changes += int(changed.sum())
        quantity = np.where(push, offered, -1)[changed]
        checksum += int(fingerprint(cid, ids[at][changed], quantity, reprice[changed]).sum())
    return changes, checksum % MODULUS


def shared(
    cid: int, ids: Any, base: dict[int, Any], kits: Sequence[Any], l_cid: Any, l_pid: Any
) -> dict[int, Any]:
    """Each location's available column as the channel ``cid`` sees it: a listing drawing on a
    component shared with other listings there takes its share of it (``omnisync.kits.sales_shares``,
    round by round in the order the rule sets), a kit the least over its components."""
    listed = set(l_pid[l_cid == cid].tolist())
    groups: dict[int, list[tuple[bool, int, int]]] = {}  # component -> (a kit?, units per sale, listing)
    for kit, component, quantity in zip(*(k.tolist() for k in kits), strict=True):
        if kit in listed:
            groups.setdefault(component, []).append((True, quantity, kit))
    for component, drawing in groups.items():
        if component in listed:
            drawing.append((False, 1, component))
        drawing.sort()
    out = {}
    for lid, column in base.items():
        column = column.copy()
        least: dict[int, int] = {}
        for component, drawing in groups.items():
            units = max(0, int(column[np.searchsorted(ids, component)]))
            sales = sales_shares(units, tuple(q for _, q, _ in drawing))
            for (_, _, listing), n in zip(drawing, sales, strict=True):
                least[listing] = min(least.get(listing, n), n)
        for listing, n in least.items():
            column[np.searchsorted(ids, listing)] = n
        out[lid] = column
    return out


def reference_lanes(folder: Path) -> list[tuple[int, Any]]:
    engine = engine_of(folder)
    with engine.ledger.read() as conn:
        return [
            (engine.ledger.channel_id(conn, name), rules)
            for name, rules in engine.calculator.channels.items()
        ]


# ------------------------------------------------------------------------------------------ the run


async def build_side(skus: int, folder: Path, kits: bool = False) -> dict[str, object]:
    t0 = time.perf_counter()
    if (folder / "bench.db").exists():  # --keep: the world of an earlier run, put back as built
        engine = await reopen(folder)
        with engine.ledger.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM product").scalar_one() == skus, "--skus differs"
        unsynced(engine)
    else:
        engine = await build(skus, folder, kits=kits)
    build_s = time.perf_counter() - t0
    channels = len(engine.channels)
    await engine.aclose()
    engine.ledger.engine.dispose()
    return {
        "skus": skus,
        "locations": 2,
        "channels": channels,
        "pairs": skus * channels,
        "build_s": round(build_s, 2),
        "build_peak_rss_mb": peak_rss_mb(),
    }


def ratio(a: object, b: float) -> float:
    return round(float(a) / b, 2) if b else float("nan")  # type: ignore[arg-type]


def main(skus: int, dirty: int, per_channel: bool, folder: Path, kits: bool = False) -> dict[str, object]:
    """The figures of one world; with ``kits``, of a world with 10 % kits and of the plain world of
    the same size beside it (``plain_*``, and ``kits_vs_plain`` the ratio of their full plans)."""
    if kits:
        plain_folder = folder / "plain"
        plain_folder.mkdir(exist_ok=True)
        plain = main(skus, dirty, per_channel, plain_folder)
        kit_folder = folder / "kits"
        kit_folder.mkdir(exist_ok=True)
        out = _one(skus, dirty, per_channel, kit_folder, kits=True)
        out["kits"] = skus // 10
        out |= {f"plain_{k}": v for k, v in plain.items() if k.endswith(("_s", "agrees"))}
        for figure in ("full_plan_s", "full_plan_cpu_s", "incremental_plan_s", "nothing_plan_s"):
            short = figure.removesuffix("_s").removeprefix("full_plan").removeprefix("_")
            name = "kits_vs_plain" + (f"_{short}" if short else "")
            out[name] = ratio(out[figure], float(plain[figure]))  # type: ignore[arg-type]
        return out
    return _one(skus, dirty, per_channel, folder)


def _one(skus: int, dirty: int, per_channel: bool, folder: Path, kits: bool = False) -> dict[str, object]:
    out = asyncio.run(build_side(skus, folder, kits))
    lanes = reference_lanes(folder)
    (ref_full, ref_sum), ref_wall, ref_cpu = best(lambda: reference_plan(folder / "bench.db", lanes))
    command = [
        sys.executable,
        __file__,
        "--planner-in",
        str(folder),
        "--skus",
        str(skus),
        "--dirty",
        str(dirty),
        "--repeat",
        str(REPEAT),
    ]
    if not per_channel:
        command.append("--no-per-channel")
    planner = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    (ref_nothing, _), nothing_wall, nothing_cpu = timed(lambda: reference_plan(folder / "bench.db", lanes))
    out |= planner
    out |= {
        "reference_full_s": round(ref_wall, 2),
        "reference_full_cpu_s": round(ref_cpu, 2),
        "reference_nothing_s": round(nothing_wall, 2),
        "reference_nothing_cpu_s": round(nothing_cpu, 2),
        "full_plan_vs_reference": ratio(planner["full_plan_s"], ref_wall),
        "full_plan_cpu_vs_reference": ratio(planner["full_plan_cpu_s"], ref_cpu),
        "nothing_plan_vs_reference": ratio(planner["nothing_plan_s"], nothing_wall),
        "agrees": (ref_full, ref_sum) == (planner["full_plan_changes"], planner["full_plan_checksum"])
        and ref_nothing == planner["nothing_plan_changes"] == 0,
    }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--dirty", type=int, default=1000)
    parser.add_argument("--no-per-channel", action="store_true", help="skip the channel-by-channel full plan")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--kits", action="store_true", help="10 %% of the SKUs kits of 3 components, beside the plain world"
    )
    parser.add_argument("--keep", type=Path, help="build the world in this folder, or reuse the one there")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each full plan this many times; report the best"
    )
    parser.add_argument("--planner-in", type=Path, help=argparse.SUPPRESS)  # the planner's own process
    args = parser.parse_args()
    REPEAT = max(1, args.repeat)
    if args.planner_in is not None:
        print(
            json.dumps(
                asyncio.run(planner_side(args.planner_in, args.skus, args.dirty, not args.no_per_channel))
            )
        )
        sys.exit(0)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = main(args.skus, args.dirty, not args.no_per_channel, args.keep, args.kits)
    else:
        with tempfile.TemporaryDirectory(prefix="omnisync-bench-") as tmp:
            result = main(args.skus, args.dirty, not args.no_per_channel, Path(tmp), args.kits)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
