import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

import maelstrom


def features(table):
    columns = [c for c in table.columns if c != "species"]
    return table[columns].to_numpy(dtype=np.float64), columns


def train(bundle: maelstrom.Bundle, meta: maelstrom.MetaVariables):
    table = bundle.value
    x, columns = features(table)
    y = table["species"].to_numpy()
    x_fit, x_test, y_fit, y_test = train_test_split(
        x, y, test_size=meta.get("test_fraction"), random_state=meta.get("seed"), stratify=y
    )
    depth = meta.get("max_depth")
    model = RandomForestClassifier(
        n_estimators=meta.get("trees"), max_depth=depth or None, random_state=meta.get("seed"), n_jobs=1
    )
    model.fit(x_fit, y_fit)
    predicted = model.predict(x_test)
    maelstrom.log_metric("train_size", len(y_fit))
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro")),
    }
    model.feature_names_ = columns
    return model, maelstrom.types.Bundle(metrics)


def apply(model, bundle: maelstrom.Bundle):
    table = bundle.value
    x = table[model.feature_names_].to_numpy(dtype=np.float64)
    result = {"predicted_species": model.predict(x).astype(str).tolist()}
    if "species" in table:
        result["observed_species"] = table["species"].astype(str).tolist()
    return maelstrom.Bundle(result)
