#!/usr/bin/env python3
"""PyTorch reference for `nst bench`: the same loss graph (VGG19 to the deepest layer, Gram style loss,
content loss, TV) and its gradient w.r.t. the image, timed the same way. Benchmark only: never a dependency
of the product or its tests. Needs Debian's python3-torch (apt-get install python3-torch)."""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F

CFG = [(1, 2, 64), (2, 2, 128), (3, 4, 256), (4, 4, 512), (5, 4, 512)]


def layer_names():
    names, pools = [], []
    for block, convs, ch in CFG:
        for c in range(1, convs + 1):
            names.append(f"block{block}_conv{c}")
            pools.append(c == convs)
    return names, pools


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pool", choices=["max", "avg"], default="max")
    p.add_argument("--style-layers", default="block1_conv1,block2_conv1,block3_conv1,block4_conv1,block5_conv1")
    p.add_argument("--content-layers", default="block4_conv2")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    names, pools = layer_names()
    style = a.style_layers.split(",")
    content = a.content_layers.split(",")
    depth = max(names.index(l) for l in style + content) + 1
    weights, cin = [], 3
    for block, convs, ch in CFG:
        for _ in range(convs):
            w = torch.randn(ch, cin, 3, 3) * (2.0 / (9 * cin)) ** 0.5
            weights.append((w, torch.randn(ch) * 0.05))
            cin = ch
    weights = weights[:depth]

    def features(x):
        out = {}
        for i, (w, b) in enumerate(weights):
            x = F.relu(F.conv2d(x, w, b, padding=1))
            out[names[i]] = x
            if pools[i] and i < depth - 1:
                x = F.max_pool2d(x, 2) if a.pool == "max" else F.avg_pool2d(x, 2)
        return out

    def gram(f):
        _, c, h, w = f.shape
        m = f.reshape(c, h * w)
        return m @ m.t() / (h * w)

    s = a.size
    mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    pre = lambda rgb: rgb.flip(1) - mean
    with torch.no_grad():
        fs = features(pre(torch.rand(1, 3, s, s) * 255))
        fc = features(pre(torch.rand(1, 3, s, s) * 255))
        targets = {l: gram(fs[l]) for l in style}
        ctargets = {l: fc[l] for l in content}
    img = (torch.rand(1, 3, s, s) * 255).requires_grad_(True)

    def step():
        img.grad = None
        f = features(pre(img))
        loss = sum(((gram(f[l]) - targets[l]) ** 2).mean() for l in style)
        loss = loss + sum(((f[l] - ctargets[l]) ** 2).mean() for l in content)
        dv = img[:, :, 1:, :-1] - img[:, :, :-1, :-1]
        dh = img[:, :, :-1, 1:] - img[:, :, :-1, :-1]
        loss = loss + (dv ** 2 + dh ** 2).mean()
        loss.backward()
        return loss.item()

    step()  # warm-up
    times = []
    for _ in range(a.iterations):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "msPerIterMedian": round(statistics.median(times), 1),
        "msPerIter": [round(t, 1) for t in times],
        "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "device": "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
