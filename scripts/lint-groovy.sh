#!/usr/bin/env bash
# Lints the Jenkins side of the repository (vars/, jobs/, Jenkinsfile, dockerfiles/*/Jenkinsfile) with
# npm-groovy-lint (CodeNarc), config .groovylintrc.json. --noserver: no background CodeNarc server is left behind.
# Exit status non-zero when any error is found.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(vars/*.groovy jobs/*.groovy jobs/*.Jenkinsfile Jenkinsfile dockerfiles/*/Jenkinsfile)
exec npx --no-install npm-groovy-lint --noserver --failon error "${files[@]}"
