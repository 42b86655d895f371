#!/usr/bin/env bash
# Gather what the GPU check carries to the GPU machine (no network there), into .whl/ (ignored):
# the wheels of wheels.txt for its Python 3.12 x86-64 manylinux, and grpotui's own wheel; then check
# that they and the working tree fit the 64 MiB a device call carries.
#     benchmarks/gpu/prepare.sh            # into .whl/
#     benchmarks/gpu/prepare.sh --check    # only resolve and size them (a temporary folder; the tests)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$repo/.whl"
if [ "${1:-}" = "--check" ]; then dest="$(mktemp -d)"; trap 'rm -rf "$dest"' EXIT; fi
rm -rf "$dest"/*.whl 2>/dev/null || true
mkdir -p "$dest"
grep -v '^\s*#' "$repo/benchmarks/gpu/wheels.txt" | grep -v '^\s*$' > "$dest/wanted.txt"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d "$dest" -r "$dest/wanted.txt"
python3 -m pip wheel --quiet --no-deps -w "$dest" "$repo"
rm -f "$dest/wanted.txt"
wheels=$(du -cb "$dest"/*.whl | tail -1 | cut -f1)
tree=$(cd "$repo" && git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
limit=$((60 * 1024 * 1024))  # 64 MiB a call, less a margin
echo "wheels: $(ls "$dest"/*.whl | wc -l) files, $((wheels / 1024)) KiB; working tree $((tree / 1024)) KiB; together $(((wheels + tree) / 1024)) KiB of $((limit / 1024)) KiB"
if [ $((wheels + tree)) -gt $limit ]; then echo "too large for one device call" >&2; exit 1; fi
