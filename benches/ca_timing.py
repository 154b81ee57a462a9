#!/usr/bin/env python3
"""Times ChannelAttribution on the aggregated paths benches/attribution.rs
wrote (path;conv;value;null), with its defaults (Monte Carlo, nsim_start=1e5,
conv_par=0.05). Prints one JSON line. Used only by the benchmark."""
import json
import sys
import time

import pandas as pd
import ChannelAttribution as ca

data = pd.read_csv(sys.argv[1], sep=";")
t = time.perf_counter()
ca.heuristic_models(data[data.conv > 0], "path", "conv", var_value="value", sep=">", flg_pro=False)
heuristics = time.perf_counter() - t
t = time.perf_counter()
ca.markov_model(data, "path", "conv", var_value="value", var_null="null", order=1,
                seed=0, verbose=False, flg_pro=False)
markov = time.perf_counter() - t
print(json.dumps({"heuristics_s": heuristics, "markov_o1_s": markov}))
