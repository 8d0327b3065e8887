#!/usr/bin/env bash
# Runs the lifecycle simulator against the domain as it was before ebfe8fe,
# the commit that fixed the two known interleaving bugs (a revoke racing a
# creation leaves an untracked assignment; two tenants on one Identity Center
# instance delete each other's access). See docs/simulation.md.
#
#   internal/sim/testdata/before-ebfe8fe.sh -seed 9 -lifecycles 1250
#   internal/sim/testdata/before-ebfe8fe.sh -seed 5 -lifecycles 1250 -separate-instances -no-outsider
#
# It checks out ebfe8fe^ into a scratch worktree, copies this tree's
# internal/sim and cmd/sim into it, applies before-ebfe8fe.patch (the
# simulator ported to that commit's per-tenant ledger API: nothing in the
# domain changes), runs cmd/sim with the arguments given, and removes the
# worktree. The patch fits internal/sim as of the commit that last changed it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
scratch=$(mktemp -d)
old="$scratch/before-ebfe8fe"
git -C "$repo" worktree add --quiet --detach "$old" ebfe8fe^
cleanup() { git -C "$repo" worktree remove --force "$old"; rm -rf "$scratch"; }
trap cleanup EXIT
mkdir -p "$old/cmd"
cp -r "$repo/internal/sim" "$old/internal/sim"
cp -r "$repo/cmd/sim" "$old/cmd/sim"
(cd "$old" && git apply "$here/before-ebfe8fe.patch" && go build -o "$scratch/sim" ./cmd/sim)
status=0
"$scratch/sim" "$@" || status=$?
exit "$status"
