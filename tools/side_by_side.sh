#!/usr/bin/env bash
# Time `make test` of two commits side by side, on this machine, in one run.
#
# Usage:
#     tools/side_by_side.sh OLD [NEW]
#
# Each commit gets a git worktree of its own and its own .venv (installed before any timing).
# Then, one after the other (NEW first): the built book is removed and the data cache emptied, so
# each `make test` builds the book cold and draws the data afresh, and the command is timed: its
# wall time, and the CPU the whole machine was busy for meanwhile (/proc/stat, so the kernels,
# sandboxes, browsers and databases the tests start are counted too). Keep the machine otherwise
# idle. The table at the end gives both and the NEW / OLD ratios.
#
# Environment:
#     SIDE_BY_SIDE_DIR  where the worktrees and the logs go (default: a new folder under /var/tmp)
#     SIDE_BY_SIDE_KEEP=1  keep the worktrees (and their venvs) for the next run; they are removed
#                       otherwise, and the logs are kept
#     PREPARE_NEW       a shell command run in NEW's worktree after its install, before timing
#                       (to measure NEW on a subset of its content, say which in your note)
#     MAKE_ARGS_NEW     extra arguments to NEW's `make test` (for example PYTEST=...)
set -euo pipefail

old=${1:?usage: tools/side_by_side.sh OLD [NEW]}
new=${2:-HEAD}
repository=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
old_commit=$(git -C "$repository" rev-parse --short "$old^{commit}")
new_commit=$(git -C "$repository" rev-parse --short "$new^{commit}")
declare -A commit_of=([new]=$new_commit [old]=$old_commit)
work=${SIDE_BY_SIDE_DIR:-$(mktemp -d /var/tmp/side-by-side-XXXXXX)}
mkdir -p "$work"

busy_cpu() {  # clock ticks (USER_HZ, 1/100 s) the machine has been busy (user + nice + system) since boot
    awk '/^cpu / { printf "%d", $2 + $3 + $4 }' /proc/stat
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

for label in new old; do
    commit=${commit_of[$label]}
    tree="$work/$label"
    if [ -d "$tree" ]; then  # kept from an earlier run: this commit, without that run's preparation
        git -C "$tree" checkout --quiet --force --detach "$commit"
    else
        git -C "$repository" worktree add --quiet --detach "$tree" "$commit"
    fi
    echo "installing $label ($commit) in $tree"
    make -C "$tree" --no-print-directory .venv/bin/.installed > "$work/$label-install.log" 2>&1
done
if [ -n "${PREPARE_NEW:-}" ]; then
    (cd "$work/new" && bash -c "$PREPARE_NEW")
fi

declare -A wall cpu status passed
for label in new old; do
    tree="$work/$label"
    rm -rf "$tree/book/_build"
    cache=$(mktemp -d "$work/cache-XXXXXX")
    extra=()
    [ "$label" = new ] && [ -n "${MAKE_ARGS_NEW:-}" ] && extra=("$MAKE_ARGS_NEW")
    echo "timing make test of $label"
    cpu0=$(busy_cpu); start=$(now_ms)
    set +e
    CONVVIZ_CACHE_DIR=$cache make -C "$tree" --no-print-directory test "${extra[@]}" > "$work/$label-test.log" 2>&1
    status[$label]=$?
    set -e
    wall[$label]=$(( $(now_ms) - start )); cpu[$label]=$(( $(busy_cpu) - cpu0 ))  # ms, ticks
    passed[$label]=$(grep -Eo '[0-9]+ passed' "$work/$label-test.log" | tail -1 || true)
    rm -rf "$cache"
done

printf '\n%-5s %-9s %-6s %-14s %8s %12s\n' "" commit status tests "wall s" "busy CPU-s"
for label in new old; do
    awk -v label="$label" -v commit="${commit_of[$label]}" -v status="${status[$label]}" -v tests="${passed[$label]:-?}" \
        -v wall="${wall[$label]}" -v cpu="${cpu[$label]}" \
        'BEGIN { printf "%-5s %-9s %-6s %-14s %8.1f %12.1f\n", label, commit, status, tests, wall / 1000, cpu / 100 }'
done
awk -v nw="${wall[new]}" -v ow="${wall[old]}" -v nc="${cpu[new]}" -v oc="${cpu[old]}" 'BEGIN {
    printf "new / old: wall %s, busy CPU %s\n", (ow > 0 ? sprintf("%.3fx", nw / ow) : "n/a"),
                                                (oc > 0 ? sprintf("%.3fx", nc / oc) : "n/a") }'
echo "logs: $work/{new,old}-test.log"
if [ "${SIDE_BY_SIDE_KEEP:-}" != 1 ]; then
    for label in new old; do git -C "$repository" worktree remove --force "$work/$label"; done
fi
