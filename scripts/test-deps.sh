#!/usr/bin/env bash
# Installs what the kernel test tier needs from Debian's packages when run as root and
# something is missing. Never fails the run: a tier whose tools are missing is skipped
# with a printed reason.
set -u
need=()
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v ipset >/dev/null 2>&1 || need+=(ipset)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# nfacct: the conformance test creates the nfacct counters kube-proxy's iptables rules name
command -v nfacct >/dev/null 2>&1 || need+=(nfacct)
# JUnit reports are validated against the JUnit schema with xmllint
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
# QEMU: the IPVS kernel tests run in a micro-VM (its kernel and tools come from apt-get download)
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
# the workflow lint (make lint, test/unit/workflow.test.ts) runs shellcheck on every run: block
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# sudo: the workflow rehearsal runs the CI job as a non-root user with sudo, as GitHub's runner
command -v sudo >/dev/null 2>&1 || need+=(sudo)
# headless Chromium: the HTML report and diagram tests (flow/unit tiers) render pages in it
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && { echo "test deps: all present"; exit 0; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test deps: missing ${need[*]}; install them as root (apt-get install ${need[*]}) to run the kernel tier"
  exit 0
fi
echo "test deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || echo "test deps: apt-get install failed; the kernel tier will say what it skips"
exit 0
