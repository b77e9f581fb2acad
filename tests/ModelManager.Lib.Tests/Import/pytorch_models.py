#!/usr/bin/env python3
"""PyTorch side of the import tests: the original service's autoencoder, the .pt fixtures and reference scores.

Needs Debian's python3-torch (run .ci/pytorch, or apt-get install python3-torch; its python is /usr/bin/python3).

  pytorch_models.py fixtures DIR                       writes the small fixtures committed in Import/Fixtures
                                                       (the same bytes each run, except legacy.pt and torchscript.pt)
  pytorch_models.py model PATH INPUT HIDDEN,... SEED [wrapped]
                                                       writes the state dict of a seeded model (wrapped: inside a dict)
  pytorch_models.py score PATH ROWS.f32 OUT.txt        PyTorch's score of every row (one per line):
                                                       the per-sample MSE of model(x) against x in eval mode, float32
"""
import sys
from collections import OrderedDict

import torch
from torch import nn


class Autoencoder(nn.Module):
    """The original service's autoencoder (see shared/DESIGN.md): Linear -> ReLU -> Dropout per hidden size,
    a mirrored decoder without the bottleneck, then a plain Linear back to the input size."""

    def __init__(self, input_dim, hidden_dims, dropout=0.1):
        super().__init__()
        layers, previous = [], input_dim
        for h in hidden_dims:
            layers += [nn.Linear(previous, h), nn.ReLU(), nn.Dropout(dropout)]
            previous = h
        self.encoder = nn.Sequential(*layers)
        layers = []
        for h in reversed(hidden_dims[:-1]):
            layers += [nn.Linear(previous, h), nn.ReLU(), nn.Dropout(dropout)]
            previous = h
        layers.append(nn.Linear(previous, input_dim))
        self.decoder = nn.Sequential(*layers)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def seeded_model(input_dim, hidden_dims, seed):
    torch.manual_seed(seed)
    return Autoencoder(input_dim, hidden_dims).eval()


def hidden_sizes_of(state_dict):
    """Encoder widths from the keys encoder.0, encoder.3, ... (as the importer infers them)."""
    sizes, index = [], 0
    while f"encoder.{index}.weight" in state_dict:
        sizes.append(state_dict[f"encoder.{index}.weight"].shape[0])
        index += 3
    return state_dict["encoder.0.weight"].shape[1], sizes


def write_fixtures(folder):
    import numpy as np  # python3-numpy comes with python3-torch

    model = seeded_model(16, [8, 4], seed=17)
    state = model.state_dict()
    torch.save(state, f"{folder}/state_dict.pt")
    torch.save({"state_dict": state, "epoch": 12, "threshold": 0.0123, "hidden_dims": [8, 4], "note": "original service"},
               f"{folder}/wrapped_state_dict.pt")
    torch.save(seeded_model(12, [8, 6, 3], seed=5).state_dict(), f"{folder}/three_layers.pt")
    torch.save(seeded_model(10, [5], seed=6).state_dict(), f"{folder}/one_layer.pt")
    torch.save(seeded_model(16, [8, 4], seed=17).double().state_dict(), f"{folder}/float64.pt")

    # Forms the importer refuses, each with its own message.
    torch.save(state, f"{folder}/legacy.pt", _use_new_zipfile_serialization=False)
    torch.save(model, f"{folder}/whole_module.pt")
    torch.save(model.state_dict(keep_vars=True), f"{folder}/keep_vars.pt")  # nn.Parameter objects, not plain tensors
    torch.jit.script(model).save(f"{folder}/torchscript.pt")
    torch.save([state["encoder.0.weight"]], f"{folder}/tensor_list.pt")
    torch.save({"state_dict": state, "threshold": np.float32(0.0123)}, f"{folder}/numpy_extra.pt")
    torch.save({"epoch": 12, "weights": state}, f"{folder}/dict_without_state_dict.pt")

    # State dicts that do not fit the architecture their keys describe.
    def variant(name, change):
        copy = OrderedDict((k, v.clone()) for k, v in state.items())
        change(copy)
        torch.save(copy, f"{folder}/{name}.pt")

    variant("wrong_shape", lambda s: s.__setitem__("decoder.3.weight", torch.randn(16, 7)))
    variant("unexpected_key", lambda s: s.__setitem__("encoder.2.weight", torch.randn(4, 8)))
    variant("missing_key", lambda s: s.pop("decoder.3.bias"))
    variant("int_tensor", lambda s: s.__setitem__("encoder.0.bias", torch.arange(8)))
    variant("nan_weight", lambda s: s["decoder.0.weight"].__setitem__((1, 2), float("nan")))
    variant("no_encoder", lambda s: [s.pop(k) for k in list(s) if k.startswith("encoder.")])


def write_model(path, input_dim, hidden, seed, wrapped):
    state = seeded_model(input_dim, hidden, seed).state_dict()
    torch.save({"state_dict": state, "epoch": 3} if wrapped else state, path)


def score(path, rows_path, out_path):
    loaded = torch.load(path, map_location="cpu")
    state = loaded["state_dict"] if "state_dict" in loaded else loaded
    input_dim, hidden = hidden_sizes_of(state)
    model = Autoencoder(input_dim, hidden)
    model.load_state_dict(state)
    model.float().eval()
    with open(rows_path, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(-1, input_dim)
    with torch.no_grad():
        errors = torch.mean((model(x) - x) ** 2, dim=1)  # the original's per-sample reconstruction error
    with open(out_path, "w") as f:
        f.write("\n".join(repr(float(e)) for e in errors) + "\n")


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "fixtures":
        write_fixtures(sys.argv[2])
    elif command == "model":
        write_model(sys.argv[2], int(sys.argv[3]), [int(h) for h in sys.argv[4].split(",")], int(sys.argv[5]),
                    len(sys.argv) > 6 and sys.argv[6] == "wrapped")
    elif command == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {command}; see the docstring")
