import numpy as np
import pandas as pd  # noqa: F401  (bundle.value is a DataFrame; importing pandas also picks an interpreter that has it)

import maelstrom

MEASUREMENTS = ["beak_length_mm", "beak_depth_mm", "flipper_length_mm", "body_mass_g"]
ISLANDS = ["Biscoe", "Dream", "Torgersen"]


def apply(bundle: maelstrom.Bundle, meta: maelstrom.MetaVariables):
    table = bundle.value  # a pandas DataFrame when pandas is installed
    complete = table.dropna(subset=MEASUREMENTS)
    features = {name: complete[name].to_numpy(dtype=np.float64) for name in MEASUREMENTS}
    for island in ISLANDS:
        features[f"island_{island.lower()}"] = (complete["island"] == island).to_numpy(dtype=np.float64)
    if "species" in complete:
        features["species"] = complete["species"].astype(str).tolist()
    return maelstrom.Bundle(features)
