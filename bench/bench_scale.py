"""Full `dbt build` at scale against the pandas + scikit-learn notebook a data scientist would write instead.

Usage::

    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --customers 100000 [--customers 1000000]
        [--work /tmp/segmentation_scale] [--items 5000] [--no-notebook] [--no-build] [--threads N]
        [--memory-limit 6GB]

For each N: generates N demo customers (``tools.demo_data``, seed 42; reused when the manifest
matches), runs the full ``dbt build`` (every model and test) on a fresh DuckDB file under ``--work`` (its
own target and log folders, so it never clashes with a checkout's ``segmentation.duckdb`` or ``target/``),
and prints:

- wall time and peak memory of the build (``/usr/bin/time -v``: maximum resident set size of the dbt
  process, DuckDB included);
- each stage's time (sum of its nodes' times from ``target/run_results.json``; nodes of a stage run two
  at a time, so a stage's sum can exceed its share of the wall time) and the slowest nodes;
- how many nodes executed at once (two, one, none) and which ran alone longest (:func:`concurrency`);
- where the memory goes: the build's process tree is sampled each second, and the nodes that ran while
  it was highest are listed with that figure;
- in the same run, the notebook alternative (:func:`notebook`, its own process under ``/usr/bin/time
  -v``): pandas features per customer from the same raw files, k-means on the standardised features, and
  a small tutorial autoencoder (torch, 2 layers) whose embedding is clustered by k-means;
- the ratio of time and memory for the same work (features and segmentation: on the dbt side the nodes
  up to ``int_customers_features`` and the segmentation models), and both recoveries: the adjusted Rand
  index of each side's segments against the customer kind the demo generator planted
  (``_truth/customer_kinds.parquet``), on the customers both sides score.

Nothing is downloaded. The machine's load (other processes on its cores) is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DBT = str(Path(PYTHON).with_name("dbt"))
NOTEBOOK_CLUSTERS = 8  # the notebook's k: a data scientist's guess (the demo plants 7 kinds + fraudsters)

# Stages of the dbt build, by node name (tests and unit tests by their resource type).
STAGES = (
    ("tests", None),
    ("staging", r"^(base_raw__|stg_)|_rejected$"),
    ("features (intermediate)", r"^int_"),
    (
        "segmentation models",
        r"^(segmentation_model_versions|segmentation_model_assignments|segmentation_model_map|"
        r"segmentation_model_descriptions|segmentation_model_evaluation)$",
    ),
    ("churn and value models", r"^(churn_value_model_versions|churn_value_model_predictions)$"),
    ("fraud models", r"^(fraud_model_versions|fraud_model_transaction_scores|fraud_model_customer_scores)$"),
    ("recommendation models", r"^recommendation_model_blend_weights$"),
    ("marts and other", r"."),
)
# The same work as the notebook: the models the segmentation depends on (features), and the segmentation
# models that fit and assign the segments (found in target/manifest.json).
LIKE_FOR_LIKE_ROOTS = ("segmentation_model_versions", "segmentation_model_assignments")


def tree_rss_kib(root: int) -> int:
    """Resident memory (KiB) of process root and all its descendants, from /proc (0 where unreadable)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def time_v(
    command: list[str], env: dict[str, str], log: Path, samples: list[tuple[float, float]] | None = None
) -> tuple[float, float, float, int]:
    """Run `command` under /usr/bin/time -v: (wall seconds, CPU seconds (user + system), peak RSS in GiB,
    return code). On a shared machine the CPU seconds are the steadier figure. Where samples is a list,
    it receives (unix time, resident GiB of the whole process tree) every second, so that the peak can be
    put down to the nodes that ran then (:func:`memory_by_node`)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", *command],
            env=env,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_DIR,
        )
        if samples is None:
            _, stderr = proc.communicate()
        else:
            stderr_parts: list[str] = []
            reader = threading.Thread(target=lambda: stderr_parts.append(proc.stderr.read()), daemon=True)
            reader.start()
            while proc.poll() is None:
                samples.append((time.time(), tree_rss_kib(proc.pid) / 1024**2))
                time.sleep(1.0)
            reader.join()
            stderr = "".join(stderr_parts)
    wall = time.perf_counter() - started
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    peak = int(match.group(1)) / 1024**2 if match else float("nan")
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", stderr))
    if proc.returncode:
        sys.stderr.write(stderr[-4000:])
    return wall, cpu, peak, proc.returncode


def _execute_span(result: dict) -> tuple[float, float] | None:
    """(start, end) unix seconds of a node's execution, from run_results.json."""
    execute = [t for t in result.get("timing", []) if t["name"] == "execute"]
    if not execute:
        return None
    start, end = (
        datetime.fromisoformat(execute[0][key].replace("Z", "+00:00")).timestamp()
        for key in ("started_at", "completed_at")
    )
    return start, end


def memory_by_node(results: list[dict], samples: list[tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """For each node: the highest resident memory (GiB, whole process tree) sampled while it executed,
    and how much that is above the memory when it started. Two nodes run at once, so a node's figures
    can be its neighbour's, and memory a node frees can stay with the process: the rise is the clue."""
    peaks: dict[str, tuple[float, float]] = {}
    for result in results:
        span = _execute_span(result)
        if span is None:
            continue
        during = [gib for at, gib in samples if span[0] - 1 <= at <= span[1] + 1]
        before = [gib for at, gib in samples if at <= span[0]]
        if during:
            peaks[result["unique_id"]] = (max(during), max(during) - (before[-1] if before else 0.0))
    return peaks


def running_at_peak(results: list[dict], samples: list[tuple[float, float]]) -> list[str]:
    """The nodes that were executing when the sampled memory was highest."""
    if not samples:
        return []
    at = max(samples, key=lambda sample: sample[1])[0]
    return [
        result["unique_id"]
        for result in results
        if (span := _execute_span(result)) is not None and span[0] - 1 <= at <= span[1] + 1
    ]


def concurrency(results: list[dict]) -> dict:
    """How many nodes executed at once, from the first node's start to the last node's end: the seconds
    with none, one and two or more executing, and the seconds each node executed alone (a node alone
    leaves the second dbt thread idle; whether it keeps both cores busy depends on the node: a SQL node
    runs on DuckDB's threads, a Python fit on one). A build whose two threads are busy nearly all the
    time takes about its CPU seconds over the cores, whatever the order of its nodes."""
    spans = [(span, r["unique_id"]) for r in results if (span := _execute_span(r)) is not None]
    if not spans:
        return {"span_s": 0.0, "seconds": {0: 0.0, 1: 0.0, 2: 0.0}, "alone": {}}
    edges = sorted({at for (start, end), _ in spans for at in (start, end)})
    seconds = {0: 0.0, 1: 0.0, 2: 0.0}
    alone: dict[str, float] = {}
    for left, right in zip(edges, edges[1:], strict=False):
        running = [uid for (start, end), uid in spans if start <= left and right <= end]
        seconds[min(len(running), 2)] += right - left
        if len(running) == 1:
            alone[running[0]] = alone.get(running[0], 0.0) + right - left
    return {"span_s": edges[-1] - edges[0], "seconds": seconds, "alone": alone}


def at_once_text(busy: dict) -> str:
    """`concurrency`'s seconds in words: "two 505 s, one 192 s, none 1 s"."""
    seconds = busy["seconds"]
    return f"two {seconds[2]:.0f} s, one {seconds[1]:.0f} s, none {seconds[0]:.0f} s"


def alone_longest_text(busy: dict, top: int) -> str:
    """The `top` nodes of `concurrency` that executed alone longest, with their seconds."""
    alone = sorted(busy["alone"].items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{node_name(uid)} {seconds:.1f}" for uid, seconds in alone) or "(none)"


def node_name(unique_id: str) -> str:
    """A node's name: a test's unique id ends with a hash, so its name is the part before."""
    parts = unique_id.split(".")
    return parts[2] if parts[0] in ("test", "unit_test") and len(parts) > 3 else parts[-1]


def generate(n: int, work: Path, seed: int, items: int | None = None) -> Path:
    """Demo data for `n` customers under `work` (`items`: the catalogue size, the generator's default when
    None); returns its folder."""
    raw = work / (f"raw_{n}" if items is None else f"raw_{n}_{items}_items")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src")}
    started = time.perf_counter()
    subprocess.run(
        [
            PYTHON,
            "-m",
            "tools.demo_data",
            "--out",
            str(raw),
            "--customers",
            str(n),
            "--seed",
            str(seed),
            *([] if items is None else ["--items", str(items)]),
        ],
        env=env,
        check=True,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
    )
    print(f"  demo data: {raw} ({time.perf_counter() - started:.0f} s, reused when the manifest matches)")
    return raw


def dbt_build(
    raw: Path,
    out: Path,
    args: argparse.Namespace,
    extra: tuple[str, ...] = (),
    start_from: Path | None = None,
    extra_vars: dict | None = None,
) -> dict:
    """`dbt build` of raw into out/warehouse.duckdb (a copy of the warehouse start_from when given, with
    the dbt arguments extra), timed."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if start_from is not None:
        shutil.copy(start_from, out / "warehouse.duckdb")
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_DIR / "src"),
        "SEGMENTATION_DB_PATH": str(out / "warehouse.duckdb"),
    }
    if args.threads:
        env["SEGMENTATION_DUCKDB_THREADS"] = str(args.threads)
    if args.memory_limit:
        env["SEGMENTATION_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    command = [
        DBT,
        "build",
        "--vars",
        json.dumps({"raw_data_path": str(raw), **(extra_vars or {})}),
        "--target-path",
        str(out / "target"),
        "--log-path",
        str(out / "logs"),
        *extra,
    ]
    samples: list[tuple[float, float]] = []
    wall, cpu, peak, rc = time_v(command, env, out / "build.log", samples)
    results = json.loads((out / "target" / "run_results.json").read_text())["results"]
    nodes = {
        r["unique_id"]: (float(r["execution_time"]), r["status"])
        for r in results
        if not r["unique_id"].startswith("exposure.")
    }
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_gib": peak,
        "rc": rc,
        "nodes": nodes,
        "warehouse": out / "warehouse.duckdb",
        "like_for_like": like_for_like(out / "target"),
        "node_peaks": memory_by_node(results, samples),
        "at_peak": running_at_peak(results, samples),
        "concurrency": concurrency(results),
    }


def stage_of(unique_id: str) -> str:
    resource, name = unique_id.split(".")[0], unique_id.split(".")[-1]
    if resource in ("test", "unit_test"):
        return "tests"
    for stage, pattern in STAGES[1:]:
        if re.search(pattern, name):
            return stage
    return "marts and other"


def like_for_like(target: Path) -> set[str]:
    """The models behind the segments: the roots and every model upstream of them."""
    parents = json.loads((target / "manifest.json").read_text())["parent_map"]
    todo = [uid for uid in parents if uid.split(".")[-1] in LIKE_FOR_LIKE_ROOTS and uid.startswith("model.")]
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen or not uid.startswith("model."):
            continue
        seen.add(uid)
        todo.extend(parents.get(uid, []))
    return seen


def dbt_recovery(warehouse: Path, raw: Path) -> tuple[float, int, int]:
    """(ARI of marts.customer_segments' segment_id against the planted kind, customers, segments)."""
    import duckdb
    from sklearn.metrics import adjusted_rand_score

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"""select s.segment_id, k.kind
                from marts.customer_segments as s
                join read_parquet('{raw}/_truth/customer_kinds.parquet') as k using (customer_id)"""
        ).fetchall()
    segments = [r[0] for r in rows]
    kinds = [r[1] for r in rows]
    return float(adjusted_rand_score(kinds, segments)), len(rows), len(set(segments))


# ------------------------------------------------------------------------------------------ notebook


def notebook(raw: Path, out_json: Path, seed: int) -> None:
    """The pandas + scikit-learn notebook: features, k-means, a tutorial autoencoder + k-means."""
    import numpy as np
    import pandas as pd
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    timings: dict[str, float] = {}
    started = time.perf_counter()
    tx = pd.read_parquet(raw / "transactions.parquet")
    lines = pd.read_parquet(raw / "transaction_items.parquet")
    items = pd.read_parquet(raw / "items.parquet")
    events = pd.read_parquet(raw / "events.parquet")
    customers = pd.read_parquet(raw / "customers.parquet")
    as_of = tx["transacted_at"].max().normalize() + pd.Timedelta(days=1)
    purchases = tx[tx["status"].fillna("completed") == "completed"]
    refunds = tx[tx["amount"] < 0]
    per = purchases.groupby("customer_id").agg(
        last=("transacted_at", "max"),
        first=("transacted_at", "min"),
        frequency=("transaction_id", "count"),
        monetary=("amount", "sum"),
        mean_order=("amount", "mean"),
        max_order=("amount", "max"),
        store_share=("channel", lambda c: (c == "store").mean()),
    )
    per["recency_days"] = (as_of - per.pop("last")).dt.days
    per["tenure_days"] = (as_of - per.pop("first")).dt.days
    per["refund_amount"] = (-refunds.groupby("customer_id")["amount"].sum()).reindex(per.index).fillna(0)
    pay = pd.crosstab(purchases["customer_id"], purchases["payment_method"], normalize="index")
    lines = lines.merge(items[["item_id", "category"]], on="item_id").merge(
        purchases[["transaction_id", "customer_id"]], on="transaction_id"
    )
    lines["spend"] = lines["quantity"] * lines["unit_price"]
    top = lines.groupby("category")["spend"].sum().nlargest(8).index
    mix = lines[lines["category"].isin(top)].pivot_table(
        index="customer_id", columns="category", values="spend", aggfunc="sum", fill_value=0.0
    )
    mix = mix.div(lines.groupby("customer_id")["spend"].sum(), axis=0).add_prefix("share_")
    ev = pd.crosstab(events["customer_id"], events["event_type"]).add_prefix("events_")
    features = (
        per.join(pay.add_prefix("pay_"))
        .join(mix)
        .join(ev)
        .join(customers.set_index("customer_id")[["birth_year"]])
        .fillna(0.0)
    )
    del tx, lines, events, purchases, refunds
    timings["features"] = time.perf_counter() - started

    started = time.perf_counter()
    X = StandardScaler().fit_transform(np.log1p(features.clip(lower=0)).to_numpy(dtype=np.float32))
    kmeans = KMeans(NOTEBOOK_CLUSTERS, n_init=4, random_state=seed).fit_predict(X)
    timings["kmeans"] = time.perf_counter() - started

    started = time.perf_counter()
    torch.manual_seed(seed)
    d = X.shape[1]
    encoder = torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    decoder = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, d))
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    data = torch.from_numpy(X)
    for _ in range(20):  # the tutorial's 20 epochs of shuffled mini-batches of 256
        order = torch.randperm(len(data))
        for start in range(0, len(data), 256):
            batch = data[order[start : start + 256]]
            loss = torch.nn.functional.mse_loss(decoder(encoder(batch)), batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        embedding = encoder(data).numpy()
    autoencoder = KMeans(NOTEBOOK_CLUSTERS, n_init=4, random_state=seed).fit_predict(embedding)
    timings["autoencoder_kmeans"] = time.perf_counter() - started

    truth = pd.read_parquet(raw / "_truth" / "customer_kinds.parquet").set_index("customer_id")["kind"]
    known = features.index.isin(truth.index)
    kinds = truth.reindex(features.index[known]).to_numpy()
    out_json.write_text(
        json.dumps(
            {
                "timings": timings,
                "customers": int(known.sum()),
                "ari_kmeans": float(adjusted_rand_score(kinds, kmeans[known])),
                "ari_autoencoder": float(adjusted_rand_score(kinds, autoencoder[known])),
            }
        )
    )


def run_notebook(raw: Path, out: Path, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "src"), "OMP_NUM_THREADS": "2"}
    result = out / "notebook.json"
    wall, cpu, peak, rc = time_v(
        [PYTHON, __file__, "--notebook-only", str(raw), str(result), "--seed", str(seed)],
        env,
        out / "notebook.log",
    )
    if rc:
        raise SystemExit(f"notebook failed (rc {rc}), see {out / 'notebook.log'}")
    return {"wall_s": wall, "cpu_s": cpu, "peak_gib": peak, **json.loads(result.read_text())}


# ------------------------------------------------------------------------------------------ report


def report(n: int, build: dict, nb: dict | None, raw: Path) -> None:
    items = json.loads((raw / "_manifest.json").read_text())["row_counts"]["items"]
    print(f"\n== {n:,} customers, {items:,} items ==")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")
    if build:
        failed = sorted(
            uid for uid, (_, status) in build["nodes"].items() if status not in ("success", "pass")
        )
        print(
            f"  dbt build: {build['wall_s']:.0f} s wall, {build['cpu_s']:.0f} CPU s, "
            f"peak {build['peak_gib']:.2f} GiB, "
            f"exit {build['rc']}, {len(build['nodes'])} nodes"
            + (f", not passing: {failed}" if failed else "")
        )
        stages: dict[str, float] = {}
        for uid, (seconds, _) in build["nodes"].items():
            stages[stage_of(uid)] = stages.get(stage_of(uid), 0.0) + seconds
        print("  stage                              seconds (sum of its nodes)")
        for stage, _ in STAGES:
            print(f"    {stage:<32} {stages.get(stage, 0.0):8.1f}")
        print("  slowest nodes:")
        for uid, (seconds, _) in sorted(build["nodes"].items(), key=lambda kv: -kv[1][0])[:12]:
            print(f"    {uid.split('.')[-1]:<48} {seconds:8.1f}")
        busy = build["concurrency"]
        print(
            f"  nodes executing at once, over the {busy['span_s']:.0f} s from the first node's start to the"
            f" last's end: {at_once_text(busy)};"
            f" CPU seconds per wall second {build['cpu_s'] / build['wall_s']:.2f} on {os.cpu_count()} cores"
        )
        print(f"  executing alone longest: {alone_longest_text(busy, 6)}")
        print(
            "  running when the sampled memory was highest: "
            + (", ".join(node_name(uid) for uid in build["at_peak"]) or "(no sample)")
        )
        print("  memory (GiB, sampled each second): the nodes with the largest rise while they ran")
        print("    node                                             highest  rise")
        for uid, (gib, rise) in sorted(build["node_peaks"].items(), key=lambda kv: -kv[1][1])[:8]:
            print(f"    {node_name(uid)[:48]:<48} {gib:7.2f} {rise:5.2f}")
        like = sum(s for uid, (s, _) in build["nodes"].items() if uid in build["like_for_like"])
        ari, customers, k = dbt_recovery(build["warehouse"], raw)
        print(f"  dbt features + segmentation (same work as the notebook): {like:.0f} s (sum of node times)")
        print(
            f"  dbt recovery: ARI {ari:.3f} against the planted kinds ({customers:,} customers, {k} segments)"
        )
    if nb:
        t = nb["timings"]
        print(
            f"  notebook: {nb['wall_s']:.0f} s wall, {nb['cpu_s']:.0f} CPU s "
            f"(features {t['features']:.0f} s, "
            f"k-means {t['kmeans']:.0f} s, autoencoder + k-means {t['autoencoder_kmeans']:.0f} s), "
            f"peak {nb['peak_gib']:.2f} GiB"
        )
        print(
            f"  notebook recovery: ARI {nb['ari_kmeans']:.3f} (k-means), {nb['ari_autoencoder']:.3f} "
            f"(autoencoder + k-means), k = {NOTEBOOK_CLUSTERS}, {nb['customers']:,} customers"
        )
    if build and nb:
        print(
            f"  ratio dbt / notebook: same work {like / nb['wall_s']:.2f}x the time; whole build "
            f"{build['wall_s'] / nb['wall_s']:.2f}x the time ({build['cpu_s'] / nb['cpu_s']:.2f}x the CPU), "
            f"{build['peak_gib'] / nb['peak_gib']:.2f}x the peak memory "
            "(the build's peak is of everything it does)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, action="append", help="repeatable (default 100000)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/segmentation_scale"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--items", type=int, help="catalogue size (default: the demo generator's 2,000)")
    parser.add_argument("--no-notebook", action="store_true")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--threads", type=int, help="DuckDB threads (env SEGMENTATION_DUCKDB_THREADS)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (env SEGMENTATION_DUCKDB_MEMORY_LIMIT)")
    parser.add_argument(
        "--notebook-only", nargs=2, type=Path, metavar=("RAW", "OUT_JSON"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.notebook_only:
        notebook(*args.notebook_only, seed=args.seed)
        return
    for n in args.customers or [100_000]:
        raw = generate(n, args.work, args.seed, args.items)
        build = {} if args.no_build else dbt_build(raw, args.work / raw.name.replace("raw_", "build_"), args)
        notebook_dir = args.work / raw.name.replace("raw_", "notebook_")
        nb = None if args.no_notebook else run_notebook(raw, notebook_dir, args.seed)
        report(n, build, nb, raw)


if __name__ == "__main__":
    main()
