#!/bin/sh
# debversion.sh VERSION: git describe's version as a Debian version.
#   v0.3.1                  0.3.1
#   v0.3.1-4-g1a2b3c4       0.3.1+4.g1a2b3c4   (4 commits past v0.3.1)
#   v0.4.0-rc1              0.4.0~rc1          (sorts before 0.4.0)
#   1a2b3c4-dirty           0.0.0+g1a2b3c4.dirty (no tag yet)
set -eu
v=${1#v}
case $v in
[0-9]*.*) ;;
*) v=0.0.0+g$v ;;
esac
printf '%s\n' "$v" | sed -E 's/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/; s/-dirty$/.dirty/; s/-(rc|beta|alpha)/~\1/'
