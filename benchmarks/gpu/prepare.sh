#!/usr/bin/env bash
# Gather what the GPU check carries to the GPU machine (no network there), into ignored folders: the wheels
# of a list for its Python 3.12 x86-64 manylinux, and grpotui's own wheel; then check that each device
# call's carry (with the working tree) fits the 64 MiB a call carries.
#     benchmarks/gpu/prepare.sh                    # stage 1: .whl/ (wheels.txt + grpotui)
#     benchmarks/gpu/prepare.sh unsloth            # stage 2 too: .whl-a/ (bitsandbytes, carried with .whl/
#                                                  # by the first call) and .whl-b/ (unsloth's, the second call)
#     benchmarks/gpu/prepare.sh [unsloth] --check  # only resolve and size them (temporary folders; the tests)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
stage2=0; check=0
for arg in "$@"; do
    case "$arg" in unsloth) stage2=1 ;; --check) check=1 ;; *) echo "unknown argument $arg" >&2; exit 2 ;; esac
done
if [ "$check" = 1 ]; then base="$(mktemp -d)"; trap 'rm -rf "$base"' EXIT; else base="$repo"; fi

fetch() {  # fetch LIST DEST: the list's wheels, no dependencies pulled
    local list="$1" dest="$2"
    rm -rf "$dest"/*.whl 2>/dev/null || true
    mkdir -p "$dest"
    grep -v '^\s*#' "$list" | sed 's/\s*#.*//' | grep -v '^\s*$' > "$dest/wanted.txt"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform any -d "$dest" -r "$dest/wanted.txt"
    rm -f "$dest/wanted.txt"
}
size() { du -cb "$@" | tail -1 | cut -f1; }
fits() {  # fits NAME BYTES: one device call's carry, with the working tree
    local tree limit=$((60 * 1024 * 1024))  # 64 MiB a call, less a margin
    tree=$(cd "$repo" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    echo "$1: $(($2 / 1024)) KiB; working tree $((tree / 1024)) KiB; together $((($2 + tree) / 1024)) KiB of $((limit / 1024)) KiB"
    if [ $(($2 + tree)) -gt $limit ]; then echo "$1: too large for one device call" >&2; exit 1; fi
}

fetch "$repo/benchmarks/gpu/wheels.txt" "$base/.whl"
python3 -m pip wheel --quiet --no-deps -w "$base/.whl" "$repo"
one=$(size "$base"/.whl/*.whl)
echo "wheels: $(ls "$base"/.whl/*.whl | wc -l) files, $((one / 1024)) KiB"
if [ "$stage2" = 0 ]; then fits "stage 1 (one call)" "$one"; exit 0; fi
fetch "$repo/benchmarks/gpu/wheels-unsloth-a.txt" "$base/.whl-a"
fetch "$repo/benchmarks/gpu/wheels-unsloth-b.txt" "$base/.whl-b"
echo "stage 2: .whl-a $(ls "$base"/.whl-a/*.whl | wc -l) files, .whl-b $(ls "$base"/.whl-b/*.whl | wc -l) files"
fits "stage 2, first call (.whl + .whl-a)" "$((one + $(size "$base"/.whl-a/*.whl)))"
fits "stage 2, second call (.whl-b)" "$(size "$base"/.whl-b/*.whl)"
