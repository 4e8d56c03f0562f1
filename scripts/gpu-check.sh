#!/usr/bin/env bash
# GPU check: on a machine with an NVIDIA GPU (and no registry access), which devices can run the loss graph, how fast
# each is at 256 and 512 px, and whether its gradient matches the CPU's. Prints a small table; keeps the raw JSON in
# $OUT (default gpu-check-results/).
#
# What to carry to the machine (nothing is installed there):
#   - this checkout with node_modules as `npm ci` left it on an x64 Linux machine (node 20+ on the GPU machine);
#   - onnxruntime-node's CUDA provider, which npm does not ship: libonnxruntime_providers_cuda.so and
#     libonnxruntime_providers_shared.so in node_modules/onnxruntime-node/bin/napi-v6/linux/x64/. Its install step
#     fetches them (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node, on a machine with registry access),
#     from the Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package of the same version (runtimes/linux-x64/native/);
#   - the CUDA 12 and cuDNN 9 runtime libraries those load (libcudart.so.12, libcublas*.so.12, libcufft.so.11,
#     libcurand.so.10, libcudnn*.so.9): a CUDA toolkit on the machine, or a folder of them named by LD_LIBRARY_PATH;
#   - for WebGPU, the NVIDIA driver's Vulkan ICD (usually installed with the driver: /usr/share/vulkan/icd.d/nvidia_icd.json).
# The gradient check needs VGG19 weights nst can find (NST_WEIGHTS=…, installed or built-in ones); without them
# only the speed is measured.
#
#   bash scripts/gpu-check.sh                 # SIZES="256 512" ITERATIONS=3 MEASURE_PX=128
#   SIZES=128 ITERATIONS=1 bash scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-gpu-check-results}
SIZES=${SIZES:-256 512}
ITERATIONS=${ITERATIONS:-3}
# The size `nst devices --measure` times each device at (auto's default; smaller for a software adapter).
MEASURE_PX=${MEASURE_PX:-128}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
NST=(node bin/nst.js)
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6/linux/x64

say() { printf '%s\n' "$*"; }
json() { node -e "const o = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8').split('\n').find((l) => l.startsWith('{'))); const v = (${2}); process.stdout.write(v === undefined || v === null ? '' : String(v))" "$1"; }

[ -f out/cli/nst.js ] || node scripts/build-cli.mjs || { say "gpu-check: could not build the CLI (node scripts/build-cli.mjs)"; exit 1; }

say "== machine"
say "node $(node --version), onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version")"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
else
  say "gpu: nvidia-smi not found"
fi
if [ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
  missing=$(ldd "$ORT_BIN/libonnxruntime_providers_cuda.so" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
  say "cuda provider: present${missing:+; its libraries not found: $missing(set LD_LIBRARY_PATH)}"
else
  say "cuda provider: not carried ($ORT_BIN/libonnxruntime_providers_cuda.so is missing; see the top of this script)"
fi

say ""
# --measure: measured now, whatever an earlier verdict said (and auto follows it from then on).
say "== nst devices --measure"
"${NST[@]}" devices --measure --size "$MEASURE_PX" --json >"$OUT/devices.json" 2>"$OUT/devices.err"
cat "$OUT/devices.err"
"${NST[@]}" devices 2>/dev/null

# The devices that ran when measured; the others are reported with why.
runnable=$(json "$OUT/devices.json" "o.devices.filter((d) => d.canRun).map((d) => d.device).join(' ')")
say ""
say "== speed (nst bench, median of $ITERATIONS after a warm-up) and gradient against the CPU (nst loss, relative L2)"
content=resources/examples/golden-gate.jpg
style=resources/examples/great-wave.jpg
printf '%-8s %6s %12s %-10s %s\n' device size ms/it ran-on 'grad rel L2 vs cpu'
for device in cpu cuda webgpu; do
  if [[ " $runnable " != *" $device "* ]]; then
    why=$(json "$OUT/devices.json" "(o.devices.find((d) => d.device === '$device') || {}).excluded || (o.devices.find((d) => d.device === '$device') || {}).error || 'not a provider here'")
    printf '%-8s %6s %12s %-10s %s\n' "$device" - - - "unavailable: $why"
    continue
  fi
  for size in $SIZES; do
    bench="$OUT/bench-$device-$size.json"
    if "${NST[@]}" bench --device "$device" --size "$size" --iterations "$ITERATIONS" --random-weights --json >"$bench" 2>"$bench.err"; then
      ms=$(json "$bench" "o.msPerIterMedian")
      ran=$(json "$bench" "o.device")
    else
      ms=failed
      ran="($(tail -n 1 "$bench.err"))"
    fi
    grad=-
    if [ -f "$content" ] && [ -f "$style" ]; then
      npy="$OUT/grad-$device-$size.npy"
      if "${NST[@]}" loss "$content" --style "$style" --content "$content" --size "$size" --device "$device" --grad-out "$npy" >"$OUT/loss-$device-$size.json" 2>"$OUT/loss-$device-$size.err"; then
        if [ "$device" = cpu ]; then
          grad=reference
        elif grep -q '^nst: running on ' "$OUT/loss-$device-$size.err"; then
          # It fell back to the CPU: comparing the CPU with itself would prove nothing.
          grad="not compared: $(grep '^nst: running on ' "$OUT/loss-$device-$size.err" | head -n 1)"
        elif [ -f "$OUT/grad-cpu-$size.npy" ]; then
          grad=$(node -e "
            const fs = require('fs');
            const read = (f) => { const b = fs.readFileSync(f); const v1 = b[6] === 1; const len = v1 ? b.readUInt16LE(8) : b.readUInt32LE(8); const start = (v1 ? 10 : 12) + len; return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length)); };
            const a = read(process.argv[1]), r = read(process.argv[2]);
            let d = 0, n = 0; for (let i = 0; i < r.length; i++) { d += (a[i] - r[i]) ** 2; n += r[i] ** 2; }
            process.stdout.write(Math.sqrt(d / n).toExponential(2));" "$npy" "$OUT/grad-cpu-$size.npy")
        fi
      else
        grad="no gradient: $(tail -n 1 "$OUT/loss-$device-$size.err")"
      fi
    fi
    printf '%-8s %6s %12s %-10s %s\n' "$device" "$size" "$ms" "$ran" "$grad"
  done
done
say ""
say "auto: $(json "$OUT/devices.json" "o.auto.device + ': ' + o.auto.reason")"
say "raw results: $OUT"
