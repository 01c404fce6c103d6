#!/usr/bin/env bash
# A new user's install: `pip install augnoise` with no extras, in a new venv outside the
# repository. The core commands must run; every extra-only command must print one line that
# names the extra to install (issue 17). Run by .ci/run after the test suite; `make check-install`.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
PIP="$WORK/venv/bin/python -m pip install --quiet --disable-pip-version-check -c $REPO/constraints.txt"
$PIP torch==2.13.0          # the pinned CPU wheel first, so nothing resolves a CUDA build
$PIP "$REPO"                # the package alone: no extras
A="$WORK/venv/bin/augnoise"
cd "$WORK"                  # not the repository: the installed package runs
for mod in sklearn ray lightning datasets pandas audiomentations kornia; do
  if "$WORK/venv/bin/python" -c "import $mod" 2>/dev/null; then echo "fresh install: $mod is installed without extras"; exit 1; fi
done
$A --help > /dev/null
$A list > /dev/null
$A schema > /dev/null
$A show image.GaussianNoise > /dev/null
$A validate "$REPO"/pipelines/*.yaml "$REPO"/pipelines/gallery/*.yaml > /dev/null
$A preview "$REPO/pipelines/image_noise.yaml" "$REPO/samples/chart_gray.png" -n 1 -o out > /dev/null
$A preview "$REPO/pipelines/audio_noise.yaml" "$REPO/samples/chirp_tones.wav" -n 1 -o out > /dev/null
$A preview "$REPO/pipelines/tabular_noise.yaml" "$REPO/samples/patients.csv" -n 1 -o out > /dev/null
mkdir src && cp "$REPO/samples/chart_gray.png" src/
$A apply "$REPO/pipelines/image_noise.yaml" src dst > /dev/null 2>&1
test -f dst/chart_gray_0.png
hint() {  # hint EXTRA ARGS...: exit status 1 and exactly one stderr line ending in the install hint
  local extra="$1"; shift
  local err
  if err="$("$A" "$@" 2>&1 >/dev/null)"; then echo "fresh install: '$*' ran without the $extra extra"; exit 1; fi
  if [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] || [[ "$err" != *"pip install 'augnoise[$extra]'" ]]; then
    echo "fresh install: '$*' did not give the one-line hint for [$extra]:"; printf '%s\n' "$err"; exit 1
  fi
}
hint recipes recipe denoise -p "$REPO/pipelines/denoise_digits.yaml" -o rec
hint recipes recipe anomaly -p "$REPO/pipelines/denoise_digits.yaml" -o rec
hint ray apply "$REPO/pipelines/image_noise.yaml" src dst2 --engine ray
echo "fresh install: core commands ran and every extra-only command named its extra"
