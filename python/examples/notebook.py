# A notebook in one page: train, register, evaluate, promote, pull.
#
# Run it cell by cell in Jupyter or VS Code (the "# %%" markers), or whole:
#
#     flymodel serve &                       # a laptop registry on :9009
#     PYTHONPATH=python python3 python/examples/notebook.py
#
# It talks to FLYMODEL_SERVER (default http://127.0.0.1:9009) with
# FLYMODEL_TOKEN when set, and writes only under a temporary folder.

# %% Connect
import json
import os
import random
import tempfile

import flymodel

client = flymodel.Client(os.environ.get("FLYMODEL_SERVER", "http://127.0.0.1:9009"))
print(client, client.health())

# %% "Train": write the files a training run leaves behind
work = tempfile.mkdtemp(prefix="flymodel-example-")
out = os.path.join(work, "out")
os.makedirs(os.path.join(out, "weights"))
with open(os.path.join(out, "weights", "model.safetensors"), "wb") as f:
    f.write(random.randbytes(1 << 20) if hasattr(random, "randbytes") else os.urandom(1 << 20))
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"layers": 4, "hidden": 256}, f)

namespace, model = "examples", "tiny.lm"
version = "v0.%d.0" % random.randrange(1 << 30)

# %% Register: creates what is missing, uploads what the server lacks
result = client.upsert(
    namespace, model, version,
    artifacts={"weights": os.path.join(out, "weights"), "config.json": os.path.join(out, "config.json"),
               "notes.md": b"# tiny.lm\nA model made by the example.\n"},
)
print(result)

# Run it again: nothing is sent, every item is unchanged.
assert client.upsert(namespace, model, version, artifacts={
    "weights": os.path.join(out, "weights"), "config.json": os.path.join(out, "config.json"),
    "notes.md": b"# tiny.lm\nA model made by the example.\n"}).unchanged

# %% Evaluate: the experiment records passed (or failed, on an exception)
with client.experiment(f"{namespace}/{model}", version, "eval", params={"dataset": "holdout-v3"}) as run:
    accuracy = 0.9 + random.random() / 20
    run.log_metrics({"accuracy": accuracy})
    if accuracy < 0.9:
        run.fail("accuracy below 0.9")

print(client.get_experiment(f"{namespace}/{model}", version, "eval"))

# %% Promote through the lifecycles (a promotion gate would say what is missing)
for state in ("qa", "stage", "prod"):
    try:
        client.set_state(f"{namespace}/{model}", version, state)
    except flymodel.PromotionGateError as gate:
        print(f"gate into {gate.to}: missing {gate.missing}, not passed {gate.not_passed}")
        break
v = client.get_version(f"{namespace}/{model}", version)
print(v.ref, v.state, v.digest)

# %% Look around: lists page transparently and render as tables in a notebook
for ver in client.versions(f"{namespace}/{model}", state="prod", limit=5):
    print(ver.version, ver.state, ver.created_at)
client.history(f"{namespace}/{model}", version)

# %% Pull what is in prod: every file verified, written atomically
pulled = client.pull(f"{namespace}/{model}@prod", os.path.join(work, "prod"))
print(pulled)
assert flymodel.version_digest(list(client.artifacts(f"{namespace}/{model}", version))) == pulled.version.digest
