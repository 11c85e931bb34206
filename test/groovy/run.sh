#!/usr/bin/env bash
# Runs the Groovy tests of the Jenkins steps (vars/) under Debian's Groovy 2.4 (the Groovy Jenkins runs).
# Usage: test/groovy/run.sh [name-filter...]     LGTM_E2E=0 skips the end-to-end test (E2E*Test.groovy).
# Closing line: "groovy: N passed, N failed"; exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "${JAVA_HOME}/bin/java" ]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  export JAVA_HOME
fi
command -v groovy >/dev/null 2>&1 || { echo "groovy not found (apt-get install groovy)" >&2; exit 2; }
exec groovy -cp test/groovy/lib test/groovy/RunTests.groovy "$@"
