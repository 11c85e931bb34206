#!/usr/bin/env bash
# The project's whole test suite: typecheck, TypeScript tests (node:test), Groovy tests (Groovy 2.4), Groovy lint.
# --no-static skips typecheck and lint (the repository's Jenkinsfile runs those as their own stages).
set -euo pipefail
static=1
[ "${1:-}" = "--no-static" ] && static=0
cd "$(dirname "$0")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true NO_COLOR=1

if [ "$static" = 1 ]; then
  echo "== typecheck"
  # npm run typecheck: the helper (src, test, bench), then infra/ (its own tsconfig: the CDK app and its tests).
  npm run -s typecheck
fi

echo "== TypeScript tests"
# Node 20 does not expand globs or find .ts files by itself: the shell lists them.
shopt -s nullglob
# infra/test: the CDK stack (aws-cdk-lib/assertions, built-in template validation off except in one test).
files=(test/*.test.ts infra/test/*.test.ts)
node --test --import tsx --test-concurrency=2 "${files[@]}"

if [ -x test/groovy/run.sh ]; then
  echo "== Groovy tests (Groovy 2.4, Jenkins' version)"
  bash test/groovy/run.sh
fi
if [ "$static" = 1 ] && [ -x scripts/lint-groovy.sh ]; then
  echo "== Groovy lint"
  bash scripts/lint-groovy.sh
fi
