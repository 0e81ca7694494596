#!/usr/bin/env bash
# Installs the Debian packages that building, testing and running Gust need.
# Idempotent: does nothing when every package is present, runs `apt-get update`
# only when something is missing. Works as root; uses sudo otherwise.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang clang-format clang-tidy
  libclang-rt-14-dev
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libcap-dev libseccomp-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libssl-dev libarchive-dev
  libgtest-dev libgmock-dev
  # micro-benchmarks (bench/throttle_bench.cc)
  libbenchmark-dev
  # the Python runtime inside sandboxes (Debian's /usr/bin/python3) and the e2e tests
  python3
  # network egress for sandboxes: nft installs the NAT table at start (the veths are netlink);
  # ip makes the egress tests' own test host
  nftables iproute2
  # building AWS's Node runtime interface client (npm aws-lambda-ric) for the provided-runtime test
  autoconf automake libtool
  # AWS clients that the Lambda API's e2e tests drive (the JavaScript SDK comes from npm), and
  # that tests/auth signs requests with (botocore, boto3, the AWS CLI)
  awscli python3-boto3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The nodejs20.x runtime runs /usr/bin/node; machines of this kind ship Node 20 with npm. Only
# where it is absent, fall back to Debian's packages.
if [[ ! -x /usr/bin/node ]]; then missing+=(nodejs npm); fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: not root and no sudo; install them as root, then retry" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
