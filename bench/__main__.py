"""`python -m bench`: cwroles benchmarks. They print numbers; nothing is asserted about time.

    python -m bench            everything: in-process parts, then the real Pulumi engine (≈ 3–4 min)
    python -m bench --quick    only the in-process parts (seconds; no Pulumi CLI needed)
    python -m bench --speed    only cwroles against the trivial reference provider (interleaved, ≈ 2 min)

See docs/benchmarks.md for how to read the tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

from ._report import console


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="in-process parts only (no Pulumi engine)")
    ap.add_argument("--runs", type=int, default=1, help="engine scenario runs, each on a fresh tenant (default 1)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="repetitions of the read-only engine operations for their median (default 3)")
    ap.add_argument("--speed", action="store_true",
                    help="only the interleaved comparison with the reference provider in bench/reference")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the speed comparison (default 5)")
    ap.add_argument("--no-refresh", action="store_true", help="speed comparison without the `pulumi refresh` rows")
    ap.add_argument("--seconds", type=float, default=1.5, help="duration of each throughput measurement (default 1.5)")
    ap.add_argument("--fault-calls", type=int, default=200, help="calls per fault scenario (default 200)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the raw numbers as JSON")
    args = ap.parse_args(argv)

    from . import inproc

    t0 = time.perf_counter()
    console.rule(f"[bold]cwroles benchmarks — {dt.datetime.now():%Y-%m-%d %H:%M}, nproc {os.cpu_count()}, "
                 f"Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    results: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "nproc": os.cpu_count(),
                     "loadavg_start": os.getloadavg(), "quick": args.quick}
    if not args.speed:
        results["inproc"] = inproc.run(seconds=args.seconds, fault_calls=args.fault_calls)
        results["onboarding"] = __import__("bench.onboarding", fromlist=["run"]).run()  # export and audit requests
    if not args.quick:
        from . import engine, speed
        from tests.sandbox import EngineMissing

        try:
            if not args.speed:
                results["engine"] = engine.run(runs=args.runs, repeats=args.repeats)
                from . import drift  # bench/drift.py: `cwroles drift` over 60 stacks vs preview --refresh

                results["drift"] = drift.run()
            results["speed"] = speed.run(rounds=args.rounds, with_refresh=not args.no_refresh)
        except EngineMissing as e:
            console.print(f"[red]{e}[/]")
            return 2
    results["seconds"] = time.perf_counter() - t0
    results["loadavg_end"] = os.getloadavg()
    console.print()
    console.print(f"[bold green]done in {results['seconds']:.0f} s[/] (load average now {os.getloadavg()[0]:.2f}; "
                  "timings on a shared machine vary with other work — request counts do not)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
        console.print(f"raw numbers: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
