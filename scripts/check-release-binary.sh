#!/usr/bin/env bash
# Checks that a release `.node` runs on any glibc Linux with Node: it may need nothing but glibc's
# own libraries (no libhwloc, no libudev, nothing else from the build machine) and no glibc symbol
# newer than the floor (GLIBC_2.17, what napi-rs's own packages target).
#   scripts/check-release-binary.sh <file.node> [objdump]
# Prints the NEEDED list and the highest GLIBC_ version; exits 1 on any violation.
set -euo pipefail
file="${1:?usage: scripts/check-release-binary.sh <file.node> [objdump]}"
objdump="${2:-objdump}"
floor="${SEQLOOP_GLIBC_FLOOR:-2.17}"
# glibc's libraries plus libgcc_s (unwinding); librt is glibc's too (Rust's std links it for
# glibc < 2.17 targets' clock_gettime).
allowed='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'

needed="$(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
highest="$("$objdump" -T "$file" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tail -n 1 || true)"
echo "$(basename "$file"): NEEDED $(echo $needed); highest glibc symbol version $highest (floor GLIBC_$floor)"

status=0
for lib in $needed; do
  if ! [[ "$lib" =~ $allowed ]]; then
    echo "check-release-binary: $file needs $lib, which is not part of glibc" >&2
    status=1
  fi
done
if [ -z "$highest" ] || [ "$(printf '%s\n' "GLIBC_$floor" "$highest" | sort -V | tail -n 1)" != "GLIBC_$floor" ]; then
  echo "check-release-binary: $file needs $highest, above the floor GLIBC_$floor" >&2
  status=1
fi
if readelf -d "$file" | grep -qE '\((RPATH|RUNPATH)\)'; then
  echo "check-release-binary: $file carries an RPATH/RUNPATH into the build machine" >&2
  status=1
fi
exit "$status"
