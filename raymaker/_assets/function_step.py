"""A pipeline's function step (``@step``), run as a processing job: load the function and its
arguments (pickled by the user's own session, with markers for what is known only at run time),
fill the markers from ``call.json`` (parameters, properties) and from upstream function steps'
results, call it, and write its return value: ``result.pkl`` (cloudpickle) and ``result.json``
(``{"Return": value}`` when it is JSON, for ``JsonGet`` and conditions).
"""

import glob
import json
import os

import cloudpickle

ML = os.environ.get("RAYMAKER_OPT_ML", "/opt/ml")
INPUT = os.path.join(ML, "processing", "input")
OUTPUT = os.path.join(ML, "processing", "output", "result")
MARK = "__raymaker_marker__"


def main() -> None:
    with open(glob.glob(os.path.join(INPUT, "function", "*.pkl"))[0], "rb") as f:
        func, args, kwargs = cloudpickle.load(f)
    with open(glob.glob(os.path.join(INPUT, "call", "*.json"))[0], encoding="utf-8") as f:
        call = json.load(f)
    results: dict = {}

    def result_of(key: str):
        if key not in results:
            with open(os.path.join(INPUT, f"result-{key}", "result.pkl"), "rb") as f:
                results[key] = cloudpickle.load(f)
        return results[key]

    def fill(value):
        if isinstance(value, dict) and set(value) == {MARK}:
            key = value[MARK]
            if key in call["values"]:
                return call["values"][key]
            out = result_of(call["results"][key])
            for part in call["paths"][key]:
                out = out[part]
            return out
        if isinstance(value, list | tuple):
            return type(value)(fill(v) for v in value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    returned = func(*fill(list(args)), **fill(dict(kwargs)))
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "result.pkl"), "wb") as f:
        cloudpickle.dump(returned, f)
    try:
        text = json.dumps({"Return": returned})
    except (TypeError, ValueError):
        text = json.dumps({"Return": None, "ReturnType": type(returned).__name__})
    with open(os.path.join(OUTPUT, "result.json"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
