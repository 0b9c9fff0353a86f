#!/usr/bin/env python3
"""Compares aging-SRTF starvation guards with FIFO and plain SRTF in fsched-sim.

For every trace, target utilisation, seed and prediction mode it runs fifo and
srtf once and aging-srtf once per guard, then prints, per guard, the mean over
seeds of mean slowdown, max wait and p99 response, each as a ratio to FIFO's in
the same run, with a 95 % confidence interval (Student's t over the seeds).
The guards are scheduler: blocks of the fsched YAML (docs/scheduling.md).

  tools/fsched-sim/compare_guards.py --sim build/tools/fsched-sim/fsched-sim \\
      --traces data/azure2019-100fn-8h --utilization 0.7,0.9,0.95 --seeds 1,2,3
"""
import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from confidence import ci  # noqa: E402  (tools/confidence.py)

def guard_keys(name):
    """The scheduler keys a guard name stands for, or None for a name it is not.

    wait-<max_wait>/<aging>: the fixed bound.
    fifo-x<factor>/<aging>[/<min_wait>[/<max_wait>]]: FIFO-relative, min_wait
        30s and max_wait 600s unless given.
    slowdown-x<k>/<aging>: slowdown bound, min_wait 10s, max_wait 240s.
    """
    kind, _, rest = name.partition("-")
    parts = rest.split("/")
    try:
        if kind == "wait" and len(parts) == 2:
            return {"aging_rate": float(parts[1]), "max_wait": parts[0]}
        if kind == "fifo" and parts[0].startswith("x") and 2 <= len(parts) <= 4:
            min_wait, max_wait = (parts[2:] + ["30s", "600s"][len(parts) - 2:])[:2]
            return {"aging_rate": float(parts[1]), "max_wait": max_wait, "min_wait": min_wait,
                    "fifo_wait_factor": float(parts[0][1:])}
        if kind == "slowdown" and parts[0].startswith("x") and len(parts) == 2:
            return {"aging_rate": float(parts[1]), "max_wait": "240s", "min_wait": "10s",
                    "slowdown_bound": float(parts[0][1:])}
    except ValueError:
        return None
    return None


# The ones docs/scheduling.md compares on every trace: the old default, the
# new default (fifo-x4/0.01/60s/240s), a fixed bound of the same cap and the
# slowdown bound. The others are the sweep around the new default.
COMPARED = ["wait-30s/0.1", "wait-240s/0.01", "fifo-x4/0.01/60s/240s", "slowdown-x100/0.01"]

def run(sim, flags, trace, util, seed, oracle, order, guard, tmp):
    config = os.path.join(tmp, f"{abs(hash((order, guard)))}.yaml")
    # Every guard key is written, so the configuration's defaults play no part.
    keys = {"fifo_wait_factor": 0, "slowdown_bound": 0, "min_wait": "0s",
            **(guard_keys(guard) or {})}
    with open(config, "w") as f:
        f.write("scheduler: {" + ", ".join(f"{k}: {v}" for k, v in keys.items()) + "}\n")
    cmd = [sim, "--config", config, "--trace", trace, "--utilization", str(util),
           "--orders", order, "--seed", str(seed), "--json"] + flags
    if oracle:
        cmd.append("--oracle")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)["runs"][0]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sim", default="build/tools/fsched-sim/fsched-sim")
    p.add_argument("--traces", required=True, help="comma-separated trace paths")
    p.add_argument("--utilization", default="0.7,0.9,0.95")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--modes", default="predicted,oracle")
    p.add_argument("--guards", default=",".join(COMPARED),
                   help="guards to run: wait-MAX/AGING, fifo-xF/AGING[/MIN[/MAX]], "
                        "slowdown-xK/AGING (see guard_keys)")
    p.add_argument("--jobs", type=int, default=1, help="simulations run at once")
    p.add_argument("--json", help="also write every run's figures here")
    p.add_argument("--sim_flags", default="", help="more fsched-sim flags, e.g. '--workers 1'")
    a = p.parse_args()
    guards = a.guards.split(",")
    for g in guards:
        if guard_keys(g) is None:
            sys.exit(f"guard '{g}' is none of wait-MAX/AGING, fifo-xF/AGING[/MIN[/MAX]], "
                     "slowdown-xK/AGING")
    orders = [("fifo", ""), ("srtf", "")] + [("aging-srtf", g) for g in guards]
    jobs = []
    for trace in a.traces.split(","):
        for util in a.utilization.split(","):
            for mode in a.modes.split(","):
                for seed in a.seeds.split(","):
                    for order, guard in orders:
                        jobs.append((trace, float(util), int(seed), mode == "oracle", order, guard))
    results = {}
    with tempfile.TemporaryDirectory() as tmp, \
            concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = {pool.submit(run, a.sim, a.sim_flags.split(), *job, tmp): job for job in jobs}
        for future in concurrent.futures.as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except (RuntimeError, OSError) as e:
                sys.exit(f"compare_guards: {e}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"trace": j[0], "util": j[1], "seed": j[2], "oracle": j[3], "order": j[4],
                        "guard": j[5], **r} for j, r in results.items()], f, indent=1)
    print("| trace | util | durations | order | slowdown × FIFO | max wait × FIFO "
          "| p99 × FIFO | slowdown | max wait s | p99 s |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for trace in a.traces.split(","):
        for util in a.utilization.split(","):
            for mode in a.modes.split(","):
                seeds = [int(s) for s in a.seeds.split(",")]
                base = {s: results[(trace, float(util), s, mode == "oracle", "fifo", "")]
                        for s in seeds}
                for order, guard in orders:
                    rs = {s: results[(trace, float(util), s, mode == "oracle", order, guard)]
                          for s in seeds}
                    cells = []
                    for key in ("mean_slowdown", "max_wait_s", "p99_response_s"):
                        ratios = [rs[s][key] / base[s][key] if base[s][key] > 0 else float("nan")
                                  for s in seeds]
                        m, h = ci(ratios)
                        cells.append(f"{m:.2f}" if math.isnan(h) else f"{m:.2f} ± {h:.2f}")
                    for key, fmt in (("mean_slowdown", "{:.1f}"), ("max_wait_s", "{:.0f}"),
                                     ("p99_response_s", "{:.1f}")):
                        m, h = ci([rs[s][key] for s in seeds])
                        cells.append(fmt.format(m) if math.isnan(h) else
                                     (fmt + " ± " + fmt).format(m, h))
                    name = order if not guard else f"aging-srtf {guard}"
                    print(f"| {os.path.basename(trace.rstrip('/'))} | {util} | {mode} | {name} | "
                          + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
