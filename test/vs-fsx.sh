#!/usr/bin/env bash
# Runs daxfsx beside a real xfstests fsx on random option sets and compares
# what each leaves: the exit code, the .fsxops (lines starting with '#'
# left out), the final file and what it printed on stdout (the saved-ops
# path aside), as ../shared/tools/check-vectors.sh compares a vector.
# Standard error is compared too but reported apart (daxfsx's own lines,
# its summary, its flag changes and inode loads, are left out first).
#
#   FSX=/path/to/xfstests/ltp/fsx test/vs-fsx.sh [COUNT [SEED]]
#   FSX=... test/vs-fsx.sh case DIR ARGS...   # one option set, kept in DIR
#   test/vs-fsx.sh gen [SEED [COUNT]]         # print the option sets only
#
# The runs must be on the file system daxfsx is told to model (the default
# flags say ext4, 4096-byte blocks, as the vectors were made; for XFS, one
# made with -m reflink=0 and --fs xfs). Environment:
#   FSX          the real fsx binary (required, except for gen)
#   DAXFSX       daxfsx (default: bin/daxfsx)
#   DAXFSX_FLAGS daxfsx's own flags (default: --no-flip --fs ext4; a design
#                whose flips must change nothing, "--kernel deferred --fs
#                ext4", must give the same answers)
#   OUT          where the runs go (default: a new directory under TMPDIR);
#                a mismatching option set keeps its directory, case-NNNN
#   JOBS         option sets run at once (default: the number of cores)
#   REPLAY=1     fsx records each run first; both then replay the recording
#   TMO          seconds allowed per run (default 120)
# Exit status: 0 when every option set matched on all but stderr and the
# known difference below (reported as DONTCACHE-ONLY), 1 if not.
#
# Known differences: a kernel that offers RWF_DONTCACHE (6.14 and later)
# makes fsx print dontcache=1 in its -d lines, where the modelled kernels
# refuse it; -l 0, junk after a number and -h get daxfsx's own messages.
# -Z is left out of the sets: the model's file starts in DAX mode, where
# direct I/O has no alignment rule; with --initial-dax off, misaligned direct
# I/O gets EINVAL as each design's kernel answers it (a 6.x ext4 reads it
# through the page cache instead), and the model's copy_file_range does not
# go through the direct paths as the kernel's does.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
DAXFSX=${DAXFSX:-$here/bin/daxfsx}
DAXFSX_FLAGS=${DAXFSX_FLAGS:---no-flip --fs ext4}
TMO=${TMO:-120}

norm_out() { sed 's/^Log of operations saved to ".*"; /Log of operations saved to "OPS"; /' "$1"; }
# daxfsx's own lines on stderr: its summary, where the replay and the kernel log are, what a failure was in
# short and, with flips on, each flag change and inode load
norm_err() { grep -Ev '^(daxfsx|In short:|Replay:|Kernel log:|[0-9]+ (chattr [+-]x|inode load)	)|^$' "$1"; }

# run_case DIR ARGS...: both tools on one option set, in DIR/real and DIR/dax
run_case() {
  local d=$1
  shift
  rm -rf "$d"
  mkdir -p "$d/real" "$d/dax"
  printf '%s\n' "$*" >"$d/args.txt"
  local a=" $* "
  # -L and -k start from an existing file: both get the same bytes
  if [[ $a == *" -L "* || $a == *" -k "* ]]; then
    yes "$RANDOM.$RANDOM.$RANDOM" | head -c $(((RANDOM << 15 | RANDOM) % 300000 + 1)) >"$d/start"
    cp "$d/start" "$d/real/f"
    cp "$d/start" "$d/dax/f"
  fi
  [[ $a == *" -P pd "* ]] && mkdir -p "$d/real/pd" "$d/dax/pd"
  local replay=()
  if [ "${REPLAY:-0}" = 1 ]; then
    mkdir -p "$d/src"
    [ -f "$d/start" ] && cp "$d/start" "$d/src/f"
    [[ $a == *" -P pd "* ]] && mkdir -p "$d/src/pd"
    (cd "$d/src" && timeout "$TMO" "$FSX" "$@" --record-ops=f.rec.fsxops f >stdout 2>stderr)
    replay=(--replay-ops="$d/src/f.rec.fsxops")
  fi
  (cd "$d/real" && timeout "$TMO" "$FSX" "$@" "${replay[@]}" --record-ops=f.rec.fsxops f >stdout 2>stderr; echo $? >rc)
  # shellcheck disable=SC2086 # DAXFSX_FLAGS is a list of flags
  (cd "$d/dax" && timeout "$TMO" "$DAXFSX" "$@" $DAXFSX_FLAGS "${replay[@]}" --record-ops=f.rec.fsxops f >stdout 2>stderr; echo $? >rc)
  local why=""
  [ "$(cat "$d/real/rc")" = "$(cat "$d/dax/rc")" ] || why="$why exit($(cat "$d/real/rc")/$(cat "$d/dax/rc"))"
  cmp -s <(grep -sv '^#' "$d/real/f.rec.fsxops") <(grep -sv '^#' "$d/dax/f.rec.fsxops") || why="$why ops"
  cmp -s "$d/real/f" "$d/dax/f" || why="$why final"
  local known=""
  if ! cmp -s <(norm_out "$d/real/stdout") <(norm_out "$d/dax/stdout"); then
    # the one known difference: -d's dontcache= where the running kernel offers RWF_DONTCACHE
    if cmp -s <(norm_out "$d/real/stdout" | sed 's/dontcache=1/dontcache=0/') <(norm_out "$d/dax/stdout"); then known=1; else why="$why stdout"; fi
  fi
  local err=""
  cmp -s <(norm_err "$d/real/stderr") <(norm_err "$d/dax/stderr") || err=" stderr"
  if [ -z "$why$err$known" ]; then
    echo "MATCH |$*"
    rm -rf "$d"
  elif [ -z "$why" ] && [ -n "$known" ]; then
    echo "DONTCACHE-ONLY |$*"
  elif [ -z "$why" ]; then
    echo "STDERR-ONLY |$*"
  else
    echo "MISMATCH$why$err |$*"
  fi
}

pick() {
  local a=("$@")
  echo "${a[RANDOM % ${#a[@]}]}"
}
upto() { echo $(((RANDOM << 15 | RANDOM) % $1)); }
chance() { [ $((RANDOM % 100)) -lt "$1" ]; }

# one random option set of fsx's letters (the file name is added by run_case)
gen_args() {
  local A=() n f
  chance 50 && A+=(-q)
  A+=(-S $(($(upto 1000000) + 1)))
  n=$(($(upto 2801) + 200))
  A+=(-N "$n")
  chance 75 && A+=(-l "$(pick 4096 4097 8192 12345 65536 77777 100000 131072 200001 262144 300000 524288 1048576 $(($(upto 1048576) + 1)))")
  chance 60 && A+=(-o "$(pick 1 2 100 512 4096 8191 8192 32768 65536 131072 $(($(upto 131072) + 1)))")
  chance 10 && A+=(-O)
  for f in r w t; do chance 30 && A+=("-$f" "$(pick 1 3 511 512 1000 4096 8192 65536)"); done
  chance 20 && A+=(-s "$(pick 0 1)")
  chance 15 && A+=(-c "$(pick 10 20 50 100 $(($(upto 200) + 10)))")
  chance 10 && A+=(-b "$(($(upto "$n") + 1))")
  chance 10 && A+=(-g "$(pick a Z 0 x '~')")
  chance 15 && A+=(-e "$(pick 0 1)")
  for f in L R W F K H z C I E T f y x n X; do
    if [ $f = L ]; then chance 6 && A+=(-L); else chance 15 && A+=("-$f"); fi
  done
  chance 4 && A+=(-k)
  chance 8 && A+=(-d)
  chance 8 && A+=(-D "$(($(upto "$n") + 1))")
  chance 8 && A+=(-p "$(($(upto 500) + 1))")
  chance 6 && A+=(-m "$(pick 0:0 4096:65536 100:0 0:8192 65536:131072)")
  chance 4 && A+=(-j "$(pick j1 id)")
  chance 4 && A+=(-P pd)
  # the vectors leave out what needs reflink, exchange range or atomic writes; half the sets here do too
  if chance 50; then
    A+=(-u -J -B -0 -a)
  else
    for f in u J B 0 a; do chance 30 && A+=("-$f"); done
  fi
  echo "${A[*]}"
}

if [ "${1:-}" = gen ]; then
  RANDOM=${2:-1}
  for ((i = 0; i < ${3:-10}; i++)); do gen_args; done
  exit 0
fi
if [ -z "${FSX:-}" ] || [ ! -x "$FSX" ]; then
  echo "vs-fsx: set FSX to an xfstests fsx binary (ltp/fsx in a built xfstests tree)" >&2
  exit 2
fi
[ -x "$DAXFSX" ] || { echo "vs-fsx: $DAXFSX is missing or not executable (run npm ci first)" >&2; exit 2; }
if [ "${1:-}" = case ]; then
  shift
  d=$1
  shift
  run_case "$d" "$@"
  exit 0
fi

count=${1:-200}
seed=${2:-1}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/vs-fsx.XXXXXX")}
mkdir -p "$OUT"
RANDOM=$seed
for ((i = 1; i <= count; i++)); do printf '%04d %s\n' "$i" "$(gen_args)"; done >"$OUT/cases.txt"
export -f run_case norm_out norm_err
export FSX DAXFSX DAXFSX_FLAGS OUT TMO REPLAY
# each option set's start file (-k, -L) follows from its number: a run again with the same SEED is the same
# shellcheck disable=SC2016 # the inner bash expands them
while read -r n args; do printf '%s\0%s\0' "$n" "$args"; done <"$OUT/cases.txt" |
  xargs -0 -n 2 -P "${JOBS:-$(nproc)}" bash -c 'RANDOM=$((10#$0)); echo "$0 $(run_case "$OUT/case-$0" $1)"' |
  sort >"$OUT/results.txt"
match=$(grep -c ' MATCH ' "$OUT/results.txt")
errs=$(grep -c ' STDERR-ONLY ' "$OUT/results.txt")
known=$(grep -c ' DONTCACHE-ONLY ' "$OUT/results.txt")
bad=$(grep -c ' MISMATCH' "$OUT/results.txt")
echo "vs-fsx: $count option sets: $match matched, $errs differ on stderr only, $known only in -d's dontcache=, $bad differ ($OUT/results.txt; each difference kept in $OUT/case-NNNN)"
[ "$bad" = 0 ]
