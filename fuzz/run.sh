#!/usr/bin/env bash
# Build and run the libFuzzer harness on the engine's reader (clang with ASan + UBSan).
#   fuzz/run.sh [libFuzzer options...]     e.g. fuzz/run.sh -runs=1000000   or   -max_total_time=600
# Seeds: the tiny and small test models (written to fuzz/corpus/ on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${FUZZ_OUT:-build/fuzz}
mkdir -p "$out/corpus"
clang -g -O1 -std=c99 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iusermod_tinygan/engine usermod_tinygan/engine/*.c fuzz/fuzz_reader.c -o "$out/fuzz_reader"
if [ -z "$(ls -A "$out/corpus")" ]; then
  python3 - "$out/corpus" <<'PY'
import sys
from tinygan import export, testmodels
for name, kw, chunk in (("tiny", dict(nz=8, ngf=4, seed=3), 512), ("small", dict(nz=16, ngf=4, seed=1), 1024)):
    data, _ = export.export_generator(testmodels.random_generator(**kw), calib=32, chunk_bytes=chunk, psnr_latents=0)
    open("%s/%s.tgw" % (sys.argv[1], name), "wb").write(data)
PY
fi
exec "$out/fuzz_reader" "$out/corpus" -max_len=65536 "$@"
