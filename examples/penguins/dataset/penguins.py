"""Palmer penguins from the vega-datasets npm package (found through NODE_PATH, which the engine sets)."""
import json
import math
import os

import maelstrom

COLUMNS = {
    "species": "Species",
    "island": "Island",
    "beak_length_mm": "Beak Length (mm)",
    "beak_depth_mm": "Beak Depth (mm)",
    "flipper_length_mm": "Flipper Length (mm)",
    "body_mass_g": "Body Mass (g)",
    "sex": "Sex",
}
TEXT = {"species", "island", "sex"}


def find_penguins_json():
    for folder in os.environ.get("NODE_PATH", "").split(os.pathsep):
        path = os.path.join(folder, "vega-datasets", "data", "penguins.json")
        if folder and os.path.exists(path):
            return path
    raise FileNotFoundError("vega-datasets/data/penguins.json not found in NODE_PATH; run npm ci in the Maelstrom repository")


def get(meta: maelstrom.MetaVariables):
    with open(find_penguins_json(), encoding="utf-8") as f:
        records = json.load(f)
    data = {}
    for name, source in COLUMNS.items():
        values = [r.get(source) for r in records]
        if name in TEXT:
            data[name] = ["" if v is None else str(v) for v in values]
        else:
            data[name] = [math.nan if v is None else float(v) for v in values]
    return maelstrom.Bundle(data, attrs={"source": "Palmer Station LTER via vega-datasets penguins.json"})
