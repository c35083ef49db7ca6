#!/usr/bin/env bash
# tests/install/check.sh BUILD_DIR
#
# Installs the configured and built tree BUILD_DIR into a scratch prefix,
# then builds tests/install/main.c against that install two ways and runs
# each program:
#   1. CMake: find_package(sesscount), linking sesscount::sesscount (shared)
#      and sesscount::sesscount_static;
#   2. pkg-config: cc $(pkg-config --cflags --libs sesscount) (shared), and
#      the static archive with $(pkg-config --static --libs sesscount).
# Exits non-zero on the first failure.  The scratch folder is removed on
# exit unless SC_KEEP_INSTALL_CHECK=1.
set -euo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
    echo "usage: $0 BUILD_DIR   (a configured and built sesscount tree)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${CC:-cc}

work=$(mktemp -d "${TMPDIR:-/tmp}/sesscount-install.XXXXXX")
if [[ ${SC_KEEP_INSTALL_CHECK:-0} == 1 ]]; then
    echo "install check: keeping $work"
else
    trap 'rm -rf -- "$work"' EXIT
fi
prefix=$work/prefix

step() { printf '\n--- install check: %s\n' "$*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix"

# Where things landed (lib, lib64 or lib/<multiarch>, depending on the
# configured CMAKE_INSTALL_LIBDIR).
pcfile=$(find "$prefix" -name sesscount.pc -print -quit)
[[ -n $pcfile ]] || { echo "install check: no sesscount.pc under $prefix" >&2; exit 1; }
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
for f in "$prefix/include/sesscount.h" "$libdir/libsesscount.so" "$libdir/libsesscount.a" \
         "$libdir/cmake/sesscount/sesscountConfig.cmake" \
         "$libdir/cmake/sesscount/sesscountConfigVersion.cmake" \
         "$libdir/cmake/sesscount/sesscountTargets.cmake"; do
    [[ -e $f ]] || { echo "install check: missing $f" >&2; exit 1; }
done
# The Lua module, when the build has it: header, host library, and the
# module where `require('msys.audit')` finds it under the prefix.
if grep -q '^SC_BUILD_LUA:BOOL=ON' "$build/CMakeCache.txt"; then
    for f in "$prefix/include/sesscount_lua.h" "$libdir/libsesscount_lua.a"; do
        [[ -e $f ]] || { echo "install check: missing $f" >&2; exit 1; }
    done
    module=$(find "$prefix" -path '*/msys/audit.so' -print -quit)
    [[ -n $module ]] || { echo "install check: no msys/audit.so under $prefix" >&2; exit 1; }
    if command -v lua5.4 >/dev/null; then
        LUA_CPATH_5_4="$(dirname "$(dirname "$module")")/?.so;;" lua5.4 -e \
            "local a = require('msys.audit'); assert(a.cidr('192.0.2.77/24') == '192.0.2.0/24')"
    fi
fi
# The internal OBJECT library must not be part of the exported package.
if grep -q sesscount_objs "$libdir"/cmake/sesscount/*.cmake; then
    echo "install check: sesscount_objs leaks into the exported targets" >&2
    exit 1
fi

step "CMake consumer: find_package(sesscount)"
cmake -S "$here" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc"
cmake --build "$work/consumer"
"$work/consumer/consumer_shared"
"$work/consumer/consumer_static"
# The shared one must really use the installed library.  ldd's output is
# taken whole before it is searched: piped into `grep -q`, which exits at
# its first match, ldd (one write a line) can die of SIGPIPE, and pipefail
# then fails the check (34 of 1000 tries on a loaded 2-core machine).
deps=$(ldd "$work/consumer/consumer_shared")
if [[ $deps != *"$libdir/libsesscount.so"* ]]; then
    echo "install check: consumer_shared does not load $libdir/libsesscount.so" >&2
    echo "$deps" >&2
    exit 1
fi

export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
step "pkg-config consumer (shared): PKG_CONFIG_PATH=$PKG_CONFIG_PATH"
pkg-config --print-errors --exists sesscount
echo "cflags: $(pkg-config --cflags sesscount)"
echo "libs:   $(pkg-config --libs sesscount)"
# Word splitting of the pkg-config output is intended.
# shellcheck disable=SC2046
"$cc" -o "$work/pc_shared" "$here/main.c" $(pkg-config --cflags --libs sesscount) \
      -Wl,-rpath,"$libdir"
"$work/pc_shared"

step "pkg-config consumer (static archive, --static)"
static_libs=$(pkg-config --static --libs sesscount)
echo "libs:   $static_libs"
# Link the archive itself rather than whatever -lsesscount finds first.
# shellcheck disable=SC2046,SC2086
"$cc" -o "$work/pc_static" "$here/main.c" $(pkg-config --cflags sesscount) \
      ${static_libs//-lsesscount/-l:libsesscount.a}
deps=$(ldd "$work/pc_static")
if [[ $deps == *libsesscount* ]]; then
    echo "install check: pc_static should not load libsesscount.so" >&2
    exit 1
fi
"$work/pc_static"

printf '\ninstall check: ok (prefix %s)\n' "$prefix"
