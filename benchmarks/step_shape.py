"""What Dagster's bookkeeping of one athlete's run costs, by the shape of the run's steps.

    .venv/bin/python -m benchmarks.step_shape [ATHLETES]

A squad run executes one asset run per athlete in its process (the UI's per-athlete check
status needs a real run each). The athletes' own work is ~0.3 s; the rest is Dagster's.
This measures that rest alone, with steps that do nothing: 9 partitioned assets and 10
checks shaped as today (9 asset steps, each with its checks) against the same assets and
checks as **one** ``multi_asset`` step, each run executed in process against a fresh
embedded (SQLite) instance, as a squad run does. The difference is what the next
performance step could win before any of our code runs.
"""

import statistics
import sys
import tempfile
import time

import dagster as dg

N_ASSETS = 9
PARTS = dg.DynamicPartitionsDefinition(name="athletes")
KEYS = [dg.AssetKey(["layer", f"step_{i}"]) for i in range(N_ASSETS)]
META = {"rows": 1, "note": "x"}


def _asset_step(i: int, key: dg.AssetKey) -> dg.AssetsDefinition:
    checks = [dg.AssetCheckSpec("ok", asset=key)]
    if i == 0:
        checks.append(dg.AssetCheckSpec("fresh", asset=key))

    @dg.asset(key=key, partitions_def=PARTS, deps=[KEYS[i - 1]] if i else [], check_specs=checks)
    def step(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            metadata=META,
            check_results=[dg.AssetCheckResult(check_name=c.name, passed=True) for c in checks],
        )

    return step


def per_asset_steps() -> list[dg.AssetsDefinition]:
    return [_asset_step(i, key) for i, key in enumerate(KEYS)]


def one_step() -> list[dg.AssetsDefinition]:
    specs = [
        dg.AssetSpec(key, deps=[KEYS[i - 1]] if i else [], partitions_def=PARTS)
        for i, key in enumerate(KEYS)
    ]
    checks = [dg.AssetCheckSpec("ok", asset=k) for k in KEYS]
    checks.append(dg.AssetCheckSpec("fresh", asset=KEYS[0]))

    @dg.multi_asset(specs=specs, check_specs=checks, name="athlete_update")
    def athlete_update(context: dg.AssetExecutionContext):
        for key in KEYS:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=META,
                check_results=[
                    dg.AssetCheckResult(asset_key=key, check_name=c.name, passed=True)
                    for c in checks
                    if c.asset_key == key
                ],
            )

    return [athlete_update]


def measure(assets: list[dg.AssetsDefinition], athletes: int) -> list[float]:
    job = dg.define_asset_job("athlete_assets", partitions_def=PARTS)
    defs = dg.Definitions(assets=assets, jobs=[job])
    resolved = defs.get_job_def("athlete_assets")
    names = [f"a{i:03d}" for i in range(athletes)]
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.local_temp(tmp) as instance:
        instance.add_dynamic_partitions("athletes", names)
        times = []
        for name in names:
            t0 = time.perf_counter()
            result = resolved.execute_in_process(instance=instance, partition_key=name)
            times.append(time.perf_counter() - t0)
            assert result.success
        return times[2:]  # the first runs warm caches up


def main() -> int:
    athletes = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    rows = []
    for label, build in (
        ("9 asset steps + their checks (today)", per_asset_steps),
        ("one multi-asset step, same assets and checks", one_step),
    ):
        times = measure(build(), athletes)
        rows.append((label, statistics.median(times), statistics.mean(times)))
        print(f"{label}: median {rows[-1][1]:.3f} s, mean {rows[-1][2]:.3f} s", flush=True)
    print(f"\n| run shape (no work in the steps; {athletes} athletes, SQLite) | median | mean |")
    print("|---|---|---|")
    for label, med, mean in rows:
        print(f"| {label} | {med:.3f} s | {mean:.3f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
