"""The live schedule (a new day extends the stored model; refit after 7 days, on a
changed history, on drift) against refitting every evening (`hrv-sentinel backtest`'s
replay), on the real series of `benchmarks.forecast_quality`: the MAE of the published
forecast over the last N evenings, and the time each takes.

    .venv/bin/python -m benchmarks.incremental_quality 60 onatsf "demo alice"
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.forecast_quality import series
from hrv.analytics.backtest import evenings_to_replay, replay
from hrv.analytics.features import build_daily_features, journal_frame, readings_frame
from hrv.analytics.models import predict_next
from hrv.steps.model import load_state, train
from hrv.steps.outputs import read_features
from hrv.storage.athlete_store import AthleteStore
from hrv.storage.files import write_text_atomic


def main() -> None:
    last = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    names = sys.argv[2:]
    for name, (journal, readings) in series().items():
        if names and not any(n in name for n in names):
            continue
        t = time.time()
        ref = replay("a", journal, readings, last=last)
        t_ref = time.time() - t
        jf = journal_frame(journal)
        rf = readings_frame(readings)
        full = build_daily_features(jf, rf)
        valid = full[full["rmssd_valid"].astype(bool)]
        actual = dict(zip(valid["date"], valid["rmssd_ms"], strict=True))
        d = Path(tempfile.mkdtemp())
        store = AthleteStore(d, "a")
        store.dir.mkdir(parents=True)
        errs: list[float] = []
        refits = 0
        t = time.time()
        for ev in evenings_to_replay(rf, set(actual), last):
            morning = ev + pd.Timedelta(days=1)
            frame = build_daily_features(jf[jf["date"] <= ev], rf[rf["date"] <= ev])
            if frame.empty:
                continue
            write_text_atomic(
                store.features_path, frame.to_csv(index=False, date_format="%Y-%m-%d")
            )
            _, m = train(d, "a")
            refits += m["refit"]
            st = load_state(d, "a")
            assert st is not None
            fd, preds = predict_next(read_features(d, "a"), st.selection, st.fitted)
            p = preds.get(st.selection.selected_model)
            if fd == morning and p:
                errs.append(abs(p.predicted_ms - actual[morning]))
        t_inc = time.time() - t
        print(
            f"{name:28s} evenings {len(errs):3d}  MAE live {np.mean(errs):6.2f} ms, "
            f"refit every evening {ref.model_mae_ms:6.2f}, 7-day mean "
            f"{ref.rolling_7d_mae_ms:6.2f}; {refits} refits; {t_inc:.1f} s vs {t_ref:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
