#!/usr/bin/env python3
"""PyTorch reference for time-to-quality (bench/bench-ttq.ts): the same balanced Gatys objective as `nst stylize`
(real uint8 VGG19 from a TF.js folder, Gatys layers, weights 1/1/0.1 normalised by the targets), optimised from
the photo by torch.optim.LBFGS (strong Wolfe, history 100) for a number of loss evaluations. Prints one JSON line
per evaluation, flushed, so the harness can time it from process start. Benchmark only: never a dependency."""
import argparse
import json
import os
import resource

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

CFG = [(1, 2), (2, 2), (3, 4), (4, 4), (5, 4)]
MEAN_BGR = [103.939, 116.779, 123.68]


def layer_names():
    names, pools = [], []
    for block, convs in CFG:
        for c in range(1, convs + 1):
            names.append(f"block{block}_conv{c}")
            pools.append(c == convs)
    return names, pools


def load_tfjs(folder):
    """Kernels (OIHW) and biases, dequantized as nst does: q * scale + min in float64, rounded once to float32."""
    model = json.load(open(os.path.join(folder, "model.json")))
    arrays = {}
    for group in model["weightsManifest"]:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            n = int(np.prod(entry["shape"]))
            q = entry.get("quantization")
            if q:
                raw = np.frombuffer(data, dtype=np.uint8, count=n, offset=offset)
                values = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
                offset += n
            else:
                values = np.frombuffer(data, dtype="<f4", count=n, offset=offset).copy()
                offset += 4 * n
            arrays[entry["name"].split(":")[0]] = values.reshape(entry["shape"])
    weights = {}
    for name in layer_names()[0]:
        k = arrays.get(f"{name}/kernel")
        if k is None:
            continue
        weights[name] = (torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1))), torch.from_numpy(arrays[f"{name}/bias"].copy()))
    return weights


def image(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).contiguous()  # [1, 3, H, W], RGB 0-255


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--weights", required=True)
    p.add_argument("--content", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--evaluations", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    names, pools = layer_names()
    style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    content_layers = ["block4_conv2"]
    weights = load_tfjs(a.weights)
    depth = max(names.index(l) for l in style_layers + content_layers) + 1
    mean = torch.tensor(MEAN_BGR).view(1, 3, 1, 1)

    def features(x):
        x = x.flip(1) - mean  # RGB -> BGR, caffe preprocessing
        out = {}
        for i in range(depth):
            w, b = weights[names[i]]
            x = F.relu(F.conv2d(x, w, b, padding=1))
            out[names[i]] = x
            if pools[i] and i < depth - 1:
                x = F.max_pool2d(x, 2)
        return out

    def gram(f):
        _, c, h, w = f.shape
        m = f.reshape(c, h * w)
        return m @ m.t() / (h * w)

    def tv(x):
        dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
        dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
        return (dy * dy + dx * dx).mean()

    content = image(a.content)
    style = image(a.style)
    with torch.no_grad():
        fs = features(style)
        fc = features(content)
        targets = {l: gram(fs[l]) for l in style_layers}
        contents = {l: fc[l] for l in content_layers}
        # normalize: each term's weight divided by its target's size (nst's balance); weights 1, 1, 0.1.
        sw = {l: 1.0 / max(float((targets[l] ** 2).mean()), 1e-12) for l in style_layers}
        cw = {l: 1.0 / max(float((contents[l] ** 2).mean()), 1e-12) for l in content_layers}
        tw = 0.1 / max(float(tv(content)), 1e-6)

    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=a.evaluations, max_eval=a.evaluations, history_size=100,
                            tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe")
    count = [0]

    def closure():
        opt.zero_grad()
        f = features(x)
        loss = sum(sw[l] * ((gram(f[l]) - targets[l]) ** 2).mean() for l in style_layers)
        loss = loss + sum(cw[l] * ((f[l] - contents[l]) ** 2).mean() for l in content_layers) + tw * tv(x)
        loss.backward()
        count[0] += 1
        print(json.dumps({"evaluation": count[0], "loss": float(loss)}), flush=True)
        return loss

    opt.step(closure)
    print(json.dumps({"done": True, "evaluations": count[0], "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)


if __name__ == "__main__":
    main()
