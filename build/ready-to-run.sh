#!/usr/bin/env bash
# Compiles the managed assemblies of a Release build's output folder ahead of time (ReadyToRun, crossgen2), in place.
# Why: most of a short samcluster process's CPU is the JIT compiling Akka, linq2db, Serilog and our own code at every
# start; precompiled, a coordinator or node starts on about half the CPU (the test suite starts a hundred of them).
# The JIT still takes over for what crossgen2 cannot compile, and tiered compilation still optimizes hot code.
#
# Each assembly is compiled once per content and crossgen2 version, into a cache outside the clone
# ($SAMCLUSTER_R2R_CACHE, default ~/.cache/samcluster/ready-to-run), like NuGet's package cache; later builds and fresh
# clones copy from it. Files are replaced by rename, never written in place: the output's package files may be hard
# links into the NuGet cache. Anything crossgen2 refuses is left as it was: this only ever makes starts faster.
#
# usage: ready-to-run.sh OUTPUT_DIR CROSSGEN2 FRAMEWORK_DIR...
set -uo pipefail
out="$1"; crossgen="$2"; shift 2
frameworks=("$@")
[ -x "$crossgen" ] || { echo "ready-to-run: no crossgen2 at $crossgen; output left as the JIT's" >&2; exit 0; }
version="$(basename "$(dirname "$(dirname "$crossgen")")")"
cache="${SAMCLUSTER_R2R_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/samcluster/ready-to-run}/$version"
mkdir -p "$cache" || { echo "ready-to-run: cannot create $cache; output left as the JIT's" >&2; exit 0; }

# The references, as crossgen2 reads them from a response file (one argument per line, globs its own).
refs="$(mktemp)"
trap 'rm -f "$refs"' EXIT
{ for f in "${frameworks[@]}" "$out"; do echo "-r:\"$f/*.dll\""; done; } >"$refs"

# LanguageExt.Core (Akka.Persistence.Sql's dependency, nothing at start-up needs it) takes crossgen2 over 15 minutes
# and 11 GB: left to the JIT.
skip='^(LanguageExt\.Core)\.dll$'

compile() {   # $1 = the output's file; prints nothing on success
  local dll="$1" name sha cached tmp
  name="$(basename "$dll")"
  sha="$(sha256sum "$dll" | cut -c1-64)"
  [ -e "$cache/done-$sha" ] && return 0              # already a ReadyToRun image we made
  [ -e "$cache/refused-$sha" ] && return 0           # not IL crossgen2 compiles (a reference assembly, native code)
  cached="$cache/$sha.dll"
  if [ ! -e "$cached" ]; then
    tmp="$(mktemp "$cache/.$name.XXXXXX")"
    if "$crossgen" --targetos:linux --targetarch:x64 -O @"$refs" --out:"$tmp" "$dll" >"$tmp.log" 2>&1; then
      mv -f "$tmp" "$cached"
      touch "$cache/done-$(sha256sum "$cached" | cut -c1-64)"
      rm -f "$tmp.log"
    else
      touch "$cache/refused-$sha"
      rm -f "$tmp" "$tmp.log"
      return 0
    fi
  fi
  tmp="$(mktemp "$out/.$name.XXXXXX")"
  cp "$cached" "$tmp" && mv -f "$tmp" "$dll"
}
export -f compile
export crossgen cache out refs

find "$out" -maxdepth 1 -name '*.dll' -printf '%f\n' | grep -Ev "$skip" \
  | xargs -P "$(nproc)" -I{} bash -c 'compile "$out/{}"'
exit 0
