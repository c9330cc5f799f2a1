#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the MeshWire decoders (Tests/Fuzz/FuzzWire.swift).
#
# Usage: Tests/Fuzz/run.sh [RUNS] [MAX_SECONDS]
#   RUNS         inputs to execute (default 1000000)
#   MAX_SECONDS  stop after this many seconds of fuzzing (default 0: no time limit)
#
# Environment:
#   FUZZ_OPTIONAL=1   if swiftc cannot build fuzzers, print "fuzzer unavailable; skipped" and
#                     exit 0 (otherwise that is an error, exit 1)
#   FUZZ_SEED_RNG=N   pass -seed=N to libFuzzer (reproducible runs)
#   FUZZ_EXTRA_ARGS   more libFuzzer flags, e.g. "-use_value_profile=0 -jobs=4"
#   SWIFTC            the compiler to use (default: swiftc on PATH)
#
# Builds with plain swiftc (not SwiftPM) into .build-fuzz/ at the repository root: MeshCore and
# MeshWire as static libraries with their module files, then the fuzz target, all with
# -sanitize=fuzzer,address. Replays Tests/Fuzz/crashers/*.hex (past reproducers) as a regression
# check, seeds a corpus from generated samples (valid frames of every message type, some at their
# bounds) and from Protocols/vectors/*.hex, then fuzzes. New corpus entries accumulate in
# .build-fuzz/corpus-wire (delete it for a fresh start). Exits non-zero on any crash, leak or
# timeout; the reproducer is left in .build-fuzz/artifacts/ (binary, and .hex in the crashers
# format: copy it to Tests/Fuzz/crashers/<name>.hex to keep it as a regression input).
set -euo pipefail

RUNS="${1:-1000000}"
MAX_SECONDS="${2:-0}"
if ! [[ "$RUNS" =~ ^[0-9]+$ && "$MAX_SECONDS" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 [RUNS] [MAX_SECONDS]  (non-negative integers)" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.build-fuzz"
SWIFTC="${SWIFTC:-swiftc}"
FLAGS=(
    -sanitize=fuzzer,address -O -g -wmo
    -swift-version 6
    -enable-upcoming-feature ExistentialAny
    -enable-upcoming-feature InternalImportsByDefault
    -parse-as-library
    # Sources use the `package` access level across modules; SwiftPM passes the same.
    -package-name computemesh
)

unavailable() {
    echo "fuzz: $1" >&2
    if [[ "${FUZZ_OPTIONAL:-0}" == 1 ]]; then
        echo "fuzzer unavailable; skipped"
        exit 0
    fi
    echo "fuzz: set FUZZ_OPTIONAL=1 to skip instead of failing" >&2
    exit 1
}

mkdir -p "$OUT"

# --- Toolchain check -------------------------------------------------------------------------
if ! command -v "$SWIFTC" >/dev/null 2>&1; then
    unavailable "no swiftc on PATH"
fi
PROBE="$OUT/probe"
mkdir -p "$PROBE"
cat >"$PROBE/probe.swift" <<'EOF'
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt { 0 }
EOF
if ! "$SWIFTC" -sanitize=fuzzer,address -parse-as-library "$PROBE/probe.swift" -o "$PROBE/probe" >"$PROBE/log" 2>&1; then
    cat "$PROBE/log" >&2
    unavailable "$("$SWIFTC" --version 2>&1 | head -1) cannot build with -sanitize=fuzzer,address (no libclang_rt.fuzzer?)"
fi

# --- Build -----------------------------------------------------------------------------------
# Each step is skipped when a hash of its inputs (sources, flags, compiler, dependencies) is
# unchanged. Sources may be edited while we build: swiftc then reports "modified during the
# build", and the step is retried.
TOOLCHAIN="$("$SWIFTC" --version 2>&1 | head -1)"

hash_inputs() { # files...
    { printf '%s\n' "$TOOLCHAIN" "${FLAGS[@]}"; cat "$@"; } | sha256sum | cut -d' ' -f1
}

compile() { # stamp-name, output..., -- swiftc args
    local name="$1" attempt log="$OUT/build-$1.log"
    shift
    for attempt in 1 2 3 4 5 6; do
        if "$SWIFTC" "$@" >"$log" 2>&1; then
            return 0
        fi
        if grep -q "modified during the build" "$log"; then
            echo "fuzz: sources of $name changed during the build; rebuilding (attempt $((attempt + 1)))" >&2
            sleep 2
            continue
        fi
        cat "$log" >&2
        echo "fuzz: building $name failed (log: $log)" >&2
        exit 1
    done
    cat "$log" >&2
    echo "fuzz: sources of $name kept changing; giving up" >&2
    exit 1
}

build_module() { # module name, source dir, dependency stamps...
    local module="$1" dir="$2"
    shift 2
    local sources=("$dir"/*.swift)
    local deps=("$@")
    local stamp="$OUT/$module.stamp"
    local want
    want="$(hash_inputs "${sources[@]}" "${deps[@]}" /dev/null)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$OUT/lib$module.a" && -f "$OUT/$module.swiftmodule" ]]; then
        echo "fuzz: $module is up to date"
        return
    fi
    echo "fuzz: building $module (${#sources[@]} files)"
    rm -f "$stamp"
    local start=$SECONDS
    compile "$module" "${FLAGS[@]}" -num-threads 2 -module-name "$module" -I "$OUT" \
        -emit-module -emit-module-path "$OUT/$module.swiftmodule" \
        -emit-library -static -o "$OUT/lib$module.a" "${sources[@]}"
    # The stamp is of the sources as they were before the build; if they changed since, the
    # next run rebuilds.
    echo "$want" >"$stamp"
    echo "fuzz: built $module in $((SECONDS - start))s"
}

build_module MeshCore "$ROOT/Sources/MeshCore"
build_module MeshWire "$ROOT/Sources/MeshWire" "$OUT/MeshCore.stamp"

TARGET="$OUT/fuzz-wire"
TARGET_STAMP="$OUT/fuzz-wire.stamp"
want="$(hash_inputs "$ROOT/Tests/Fuzz/FuzzWire.swift" "$OUT/MeshCore.stamp" "$OUT/MeshWire.stamp")"
if [[ -f "$TARGET_STAMP" && "$(cat "$TARGET_STAMP")" == "$want" && -x "$TARGET" ]]; then
    echo "fuzz: fuzz-wire is up to date"
else
    echo "fuzz: building fuzz-wire"
    rm -f "$TARGET_STAMP"
    start=$SECONDS
    compile fuzz-wire "${FLAGS[@]}" -module-name FuzzWire -I "$OUT" \
        "$ROOT/Tests/Fuzz/FuzzWire.swift" "$OUT/libMeshWire.a" "$OUT/libMeshCore.a" -o "$TARGET"
    echo "$want" >"$TARGET_STAMP"
    echo "fuzz: built fuzz-wire in $((SECONDS - start))s"
fi

# --- Seeds -----------------------------------------------------------------------------------
# The first input byte selects the mode (see FuzzWire.swift): 0x00 stream without preface,
# 0x01 stream with preface, 0x05 the same byte by byte, 0x03 a single frame.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:handle_abort=1}"
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]]; then
    SYMBOLIZER="$(dirname "$(command -v "$SWIFTC")")/llvm-symbolizer"
    [[ -x "$SYMBOLIZER" ]] && export ASAN_SYMBOLIZER_PATH="$SYMBOLIZER"
fi

SEEDS="$OUT/seeds-wire"
CORPUS="$OUT/corpus-wire"
ARTIFACTS="$OUT/artifacts"
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$CORPUS" "$ARTIFACTS"
FUZZ_WIRE_SEED_DIR="$SEEDS" "$TARGET" >"$OUT/seed.log" 2>&1 || {
    cat "$OUT/seed.log" >&2
    echo "fuzz: generating seeds failed (a sample does not round-trip?)" >&2
    exit 1
}

write_hex_as_binary() { # prefix-byte-hex, hex digits, output
    printf "$(printf '%s%s' "$1" "$2" | sed 's/../\\x&/g')" >"$3"
}

vectors=0
shopt -s nullglob
for file in "$ROOT"/Protocols/vectors/*.hex; do
    hex="$(grep -v '^[[:space:]]*#' "$file" | tr -d ' \t\r\n')"
    if ! [[ "$hex" =~ ^([0-9a-fA-F]{2})*$ ]]; then
        echo "fuzz: skipping $(basename "$file"): not hex byte pairs" >&2
        continue
    fi
    name="$(basename "$file" .hex)"
    input="$(sed -n 's/^#[[:space:]]*input:[[:space:]]*\([a-z]*\).*/\1/p' "$file" | head -1)"
    if [[ "$input" == stream || "${hex:0:8}" == 434d5348 || "${hex:0:8}" == 434D5348 ]]; then
        write_hex_as_binary 01 "$hex" "$SEEDS/vec-$name"
        write_hex_as_binary 05 "$hex" "$SEEDS/vec-$name-bytewise"
    else
        write_hex_as_binary 00 "$hex" "$SEEDS/vec-$name"
        write_hex_as_binary 03 "$hex" "$SEEDS/vec-$name-single"
        write_hex_as_binary 01 "434d534801000000$hex" "$SEEDS/vec-$name-preface"
    fi
    vectors=$((vectors + 1))
done
shopt -u nullglob

# Reproducers of past crashes (Tests/Fuzz/crashers/*.hex, same hex format, mode byte included)
# are replayed first as a regression check, and join the seeds.
REPLAY="$OUT/crashers"
rm -rf "$REPLAY"
mkdir -p "$REPLAY"
shopt -s nullglob
for file in "$ROOT"/Tests/Fuzz/crashers/*.hex; do
    hex="$(grep -v '^[[:space:]]*#' "$file" | tr -d ' \t\r\n')"
    if ! [[ "$hex" =~ ^([0-9a-fA-F]{2})*$ ]]; then
        echo "fuzz: $(basename "$file") is not hex byte pairs" >&2
        exit 1
    fi
    write_hex_as_binary "" "$hex" "$REPLAY/$(basename "$file" .hex)"
    cp "$REPLAY/$(basename "$file" .hex)" "$SEEDS/crasher-$(basename "$file" .hex)"
done
replay=("$REPLAY"/*)
shopt -u nullglob
if [[ ${#replay[@]} -gt 0 ]]; then
    if ! "$TARGET" -timeout=5 -rss_limit_mb=2048 "${replay[@]}" >"$OUT/replay.log" 2>&1; then
        cat "$OUT/replay.log" >&2
        echo "fuzz: FAILED: a reproducer in Tests/Fuzz/crashers crashes again (log: $OUT/replay.log)" >&2
        exit 1
    fi
    echo "fuzz: replayed ${#replay[@]} reproducers from Tests/Fuzz/crashers: all pass"
fi

echo "fuzz: seeds: $(ls "$SEEDS" | wc -l) files ($vectors golden vectors); corpus: $(ls "$CORPUS" | wc -l) files"

# --- Fuzz ------------------------------------------------------------------------------------
ARGS=(
    -runs="$RUNS"
    -detect_leaks=1
    -timeout=5
    -rss_limit_mb=2048
    -max_len=65536
    -print_final_stats=1
    -artifact_prefix="$ARTIFACTS/"
)
[[ "$MAX_SECONDS" -gt 0 ]] && ARGS+=(-max_total_time="$MAX_SECONDS")
[[ -n "${FUZZ_SEED_RNG:-}" ]] && ARGS+=(-seed="$FUZZ_SEED_RNG")
# shellcheck disable=SC2206 # word splitting intended
[[ -n "${FUZZ_EXTRA_ARGS:-}" ]] && ARGS+=(${FUZZ_EXTRA_ARGS})

echo "fuzz: $TARGET ${ARGS[*]} $CORPUS $SEEDS"
LOG="$OUT/fuzz-wire.log"
start=$(date +%s.%N)
set +e
"$TARGET" "${ARGS[@]}" "$CORPUS" "$SEEDS" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}
set -e
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

stats="$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "$LOG" | tr '\n' ' ' || true)"
echo "fuzz: wall ${wall}s; $stats"
shopt -s nullglob
found=("$ARTIFACTS"/crash-* "$ARTIFACTS"/leak-* "$ARTIFACTS"/timeout-* "$ARTIFACTS"/oom-* "$ARTIFACTS"/slow-unit-*)
shopt -u nullglob
for artifact in "${found[@]}"; do
    [[ "$artifact" == *.hex ]] && continue
    { echo "# fuzz-wire reproducer $(basename "$artifact") (first byte: mode)"; od -An -v -tx1 "$artifact" | sed 's/^ *//'; } >"$artifact.hex"
done
if [[ $status -ne 0 ]]; then
    echo "fuzz: FAILED (libFuzzer exit status $status); reproducers in $ARTIFACTS:" >&2
    ls -1 "$ARTIFACTS" >&2 || true
    echo "fuzz: replay one with: $TARGET <file>" >&2
    exit 1
fi
echo "fuzz: OK: no crashes, leaks or timeouts"
