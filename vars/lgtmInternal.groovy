/*
 * Shared plumbing for the lgtm* steps (lgtmDeploy, lgtmRollback, lgtmPipeline).
 * Not meant to be called from a Jenkinsfile.
 *
 * Rules kept here on purpose:
 *  - every value is checked against an allow-list before any sh runs;
 *  - shell scripts are constants: values reach them only through withEnv, never through Groovy interpolation;
 *  - no non-serializable locals survive a step call (no Matcher, no iterators), no @NonCPS method calls a step.
 */

/** The six components, the only values `component` may take. */
List components() {
    return ['mimir', 'loki', 'tempo', 'pyroscope', 'grafana', 'alloy']
}

/** The minimum Node.js major version the bundled helper needs. */
int minimumNodeMajor() {
    return 20
}

/** Where the bundle lives in the library's resources/. */
String bundleResource() {
    return 'lgtm/lgtm-deploy.mjs'
}

/** Stops the build with a message prefixed by the step name. */
void fail(String step, String message) {
    error("${step}: ${message}")
}

/**
 * Merges userConfig over defaults after rejecting unknown keys and missing required ones.
 * A key whose default is null and that is listed in required must be given.
 */
Map mergeConfig(String step, Map defaults, Map userConfig, List required) {
    Map given = userConfig == null ? [:] : userConfig
    List keys = new ArrayList(given.keySet())
    List unknown = []
    for (int i = 0; i < keys.size(); i++) {
        if (!defaults.containsKey(keys[i])) {
            unknown.add(keys[i].toString())
        }
    }
    if (unknown) {
        fail(step, "unknown parameter(s): ${unknown.join(', ')}. Allowed: ${new ArrayList(defaults.keySet()).join(', ')}")
    }
    Map cfg = [:]
    cfg.putAll(defaults)
    cfg.putAll(given)
    List missing = []
    for (int i = 0; i < required.size(); i++) {
        Object value = cfg[required[i]]
        if (value == null || value.toString().trim().isEmpty()) {
            missing.add(required[i].toString())
        }
    }
    if (missing) {
        fail(step, "missing required parameter(s): ${missing.join(', ')}")
    }
    return cfg
}

/** Checks value against regex (whole string); returns it as a String. Null passes when optional. */
String matching(String step, String name, Object value, String regex, String expected, boolean optional) {
    if (value == null) {
        if (optional) {
            return null
        }
        fail(step, "${name} is required (${expected})")
    }
    if (!(value instanceof CharSequence)) {
        fail(step, "${name} must be a string (${expected}), got ${value.getClass().simpleName}")
    }
    String s = value.toString()
    if (!(s ==~ regex)) {
        fail(step, "invalid ${name} ${quoted(s)}: expected ${expected}")
    }
    return s
}

/** A printable, single-line, bounded rendering of a rejected value for error messages. */
String quoted(String s) {
    String shown = s.length() > 80 ? s.substring(0, 80) + '...' : s
    return "'" + shown.replace('\n', '\\n').replace('\r', '\\r') + "'"
}

String component(String step, Object value) {
    String s = matching(step, 'component', value, '[a-z]{1,20}', "one of ${components().join(', ')}", false)
    if (!components().contains(s)) {
        fail(step, "unknown component ${quoted(s)}: expected one of ${components().join(', ')}")
    }
    return s
}

String environmentName(String step, Object value) {
    return matching(step, 'environment', value, '[a-z][a-z0-9-]{0,30}',
        'an environment name like prod or local (a file environments/<name>.json; ^[a-z][a-z0-9-]{0,30}$)', false)
}

String duration(String step, String name, Object value, boolean optional) {
    String s = matching(step, name, value, '(\\d{1,4}h)?(\\d{1,5}m)?(\\d{1,6}s)?',
        'a duration like 90s, 20m, 1h or 1h30m', optional)
    if (s?.isEmpty()) {
        fail(step, "invalid ${name} '': expected a duration like 90s, 20m, 1h or 1h30m")
    }
    return s
}

/** Seconds in a duration that duration() accepted (1h30m, 90s). */
long durationSeconds(String value) {
    long total = 0
    String rest = value
    int i = rest.indexOf('h')
    if (i >= 0) {
        total += Long.parseLong(rest.substring(0, i)) * 3600
        rest = rest.substring(i + 1)
    }
    i = rest.indexOf('m')
    if (i >= 0) {
        total += Long.parseLong(rest.substring(0, i)) * 60
        rest = rest.substring(i + 1)
    }
    i = rest.indexOf('s')
    if (i >= 0) {
        total += Long.parseLong(rest.substring(0, i))
    }
    return total
}

/**
 * Minutes of the helper's default --timeout (and --rollback-timeout) per component in the shipped environments:
 * derived from each component's rollout (src/core/release-timeout.ts, docs/rollout-timeouts.md). A Jenkins timeout
 * around a release must allow a release and its rollback; test/release-timeout.test.ts keeps these figures at least
 * the helper's for every environment file.
 */
Map releaseMinutes() {
    return [mimir: 76, loki: 33, tempo: 20, pyroscope: 20, grafana: 20, alloy: 20]
}

Boolean flag(String step, String name, Object value) {
    if (!(value instanceof Boolean)) {
        fail(step, "${name} must be true or false, got ${value == null ? 'null' : quoted(value.toString())}")
    }
    return value
}

/** A whole number within [min, max]; accepts Integer/Long or a decimal string. Null passes when optional. */
String number(String step, String name, Object value, int min, int max, boolean optional) {
    if (value == null && optional) {
        return null
    }
    String s = value == null ? '' : value.toString()
    boolean integral = value instanceof Integer || value instanceof Long || value instanceof CharSequence
    if (!integral || !(s ==~ '\\d{1,6}') || Long.parseLong(s) < min || Long.parseLong(s) > max) {
        fail(step, "invalid ${name} ${quoted(s)}: expected a whole number from ${min} to ${max}")
    }
    return Long.parseLong(s).toString()
}

String region(String step, Object value) {
    return matching(step, 'region', value, '[a-z]{2}(-[a-z]+)+-\\d{1,2}', 'an AWS region like eu-west-1', true)
}

String roleArn(String step, Object value) {
    return matching(step, 'roleArn', value, 'arn:aws[a-z-]*:iam::\\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}',
        'an IAM role ARN like arn:aws:iam::123456789012:role/jenkins-lgtm-deploy', true)
}

String credentialsId(String step, Object value) {
    return credentialsIdParam(step, 'awsCredentialsId', value)
}

/** An optional Jenkins credentials ID parameter named name. */
String credentialsIdParam(String step, String name, Object value) {
    return matching(step, name, value, '[A-Za-z0-9][A-Za-z0-9._@-]{0,127}',
        'a Jenkins credentials ID (letters, digits, . _ @ -)', true)
}

String endpointUrl(String step, Object value) {
    return matching(step, 'endpointUrl', value, 'https?://[A-Za-z0-9.-]+(:\\d{1,5})?(/[A-Za-z0-9._~/-]*)?',
        'an http(s) URL like http://127.0.0.1:4566', true)
}

/** Checks and normalizes the AWS parameters both release steps take, in place. */
void validateAws(String step, Map cfg) {
    cfg.awsCredentialsId = credentialsId(step, cfg.awsCredentialsId)
    cfg.roleArn = roleArn(step, cfg.roleArn)
    if (cfg.awsCredentialsId && cfg.roleArn) {
        fail(step, 'give either awsCredentialsId or roleArn, not both')
    }
    cfg.region = region(step, cfg.region)
    cfg.endpointUrl = endpointUrl(step, cfg.endpointUrl)
}

String rootDir(String step, Object value) {
    return matching(step, 'root', value, '[A-Za-z0-9._/@+-]{1,500}',
        'a directory path (letters, digits, . _ / @ + -) holding dockerfiles/ and taskdefs/', true)
}

String gitSha(String step, Object value) {
    return matching(step, 'sha', value, '[0-9a-f]{7,40}', 'a git commit SHA (7-40 lowercase hex digits)', true)
}

String branchName(String step, String name, Object value) {
    return matching(step, name, value, '[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}', 'a branch name (letters, digits, . _ / + -)', true)
}

/** An image tag as Docker allows it; also what the helper prints for `tag`. */
String imageTag(String step, String name, Object value) {
    return matching(step, name, value, '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}', 'an image tag like 2.14.0-1a2b3c4', false)
}

/** Rollback target: previous, a revision number, a task definition ARN of the component, or a version/tag. */
String rollbackTarget(String step, String componentName, Object value) {
    String expected = "previous, a revision number, a task definition ARN of lgtm-${componentName}, or a version/tag like 2.14.0"
    String s = matching(step, 'to', value, '[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,255}', expected, false)
    boolean ok = s == 'previous' || s ==~ '\\d{1,7}' ||
        s ==~ "arn:aws[a-z-]*:ecs:[a-z]{2}(-[a-z]+)+-\\d{1,2}:\\d{12}:task-definition/lgtm-${componentName}:\\d{1,7}" ||
        s ==~ '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}'
    if (!ok) {
        fail(step, "invalid to ${quoted(s)}: expected ${expected}")
    }
    return s
}

/** Free text (rollback reason): 3-500 printable characters on one line. It only ever travels in an env var. */
String reasonText(String step, Object value) {
    if (value == null || !(value instanceof CharSequence) || value.toString().trim().length() < 3) {
        fail(step, 'reason is required: say why you roll back (3-500 characters, one line)')
    }
    String s = value.toString().trim()
    if (s.length() > 500 || s ==~ '(?s).*[\\p{Cntrl}].*') {
        fail(step, 'invalid reason: use 3-500 characters on one line, without control characters')
    }
    return s
}

/**
 * Writes the bundled helper into the workspace temp dir and checks that node >= 20 is on the agent.
 * Returns the bundle's absolute path.
 */
String prepareBundle(String step) {
    String bundle = "${pwd(tmp: true)}/lgtm-deploy.mjs"
    writeFile(file: bundle, text: libraryResource(bundleResource()), encoding: 'UTF-8')
    int rc = 0
    withEnv(["LGTM_MIN_NODE=${minimumNodeMajor()}"]) {
        rc = sh(script: nodeCheckScript(), returnStatus: true, label: "lgtm: check node >= ${minimumNodeMajor()}")
    }
    if (rc == 127) {
        fail(step, "node was not found on this agent. The lgtm-deploy helper needs Node.js >= ${minimumNodeMajor()} " +
            'on the PATH: install it on the agent or run on an agent label that has it.')
    }
    if (rc != 0) {
        fail(step, "the node on this agent is too old or broken (check exit ${rc}). " +
            "The lgtm-deploy helper needs Node.js >= ${minimumNodeMajor()}.")
    }
    return bundle
}

/** Environment every helper call gets. Empty values are left out (withEnv would unset them anyway). */
List baseEnv(String bundle, Map cfg) {
    List vars = [
        "LGTM_BUNDLE=${bundle}",
        "LGTM_COMPONENT=${cfg.component}",
        "LGTM_ENVIRONMENT=${cfg.environment}",
        'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true',
    ]
    vars.add("LGTM_ROOT=${cfg.root}")
    if (cfg.region) {
        vars.add("LGTM_REGION=${cfg.region}")
        vars.add("AWS_REGION=${cfg.region}")
    }
    if (cfg.endpointUrl) {
        vars.add("LGTM_ENDPOINT_URL=${cfg.endpointUrl}")
    }
    return vars
}

/**
 * Runs body with AWS credentials: a CloudBees AWS credentials binding (awsCredentialsId), an assumed role
 * (withAWS, roleArn), or the agent's own credentials (neither given).
 */
Object withAwsAuth(Map cfg, Closure body) {
    if (cfg.awsCredentialsId) {
        return withCredentials([[$class: 'AmazonWebServicesCredentialsBinding', credentialsId: cfg.awsCredentialsId,
                                 accessKeyVariable: 'AWS_ACCESS_KEY_ID', secretKeyVariable: 'AWS_SECRET_ACCESS_KEY']]) {
            return body()
        }
    }
    if (cfg.roleArn) {
        Map args = [role: cfg.roleArn]
        if (cfg.region) {
            args.region = cfg.region
        }
        return withAWS(args) {
            return body()
        }
    }
    return body()
}

/**
 * Runs body with the Grafana service account token (a "Secret text" credential, grafanaCredentialsId) bound to
 * LGTM_GRAFANA_TOKEN, the variable the helper's --annotate reads; without grafanaCredentialsId, just body.
 */
Object withGrafanaToken(Map cfg, Closure body) {
    if (cfg.grafanaCredentialsId) {
        return withCredentials([string(credentialsId: cfg.grafanaCredentialsId, variable: 'LGTM_GRAFANA_TOKEN')]) {
            return body()
        }
    }
    return body()
}

/** A printable single line of at most max characters from a record value (null when it is not a string). */
String recordText(Object value, int max) {
    if (!(value instanceof CharSequence)) {
        return null
    }
    String s = value.toString().replace('\t', '  ').replaceAll('\\p{Cntrl}', '?')
    return s.length() > max ? s.substring(0, max) + '...' : s
}

/** Up to limit printable strings from a record list (anything else is skipped). */
List recordTexts(Object value, int limit, int max) {
    List out = []
    List items = value instanceof List ? value : []
    for (int i = 0; i < items.size() && out.size() < limit; i++) {
        String s = recordText(items[i], max)
        if (s != null) {
            out.add(s)
        }
    }
    return out
}

/** " (loki exit 1, sidecar exit 0)" for a stopped task's containers, or "". */
String containerExits(Object containers) {
    List parts = []
    List items = containers instanceof List ? containers : []
    for (int i = 0; i < items.size() && i < 5; i++) {
        Object c = items[i]
        if (c instanceof Map && c.exitCode instanceof Number) {
            parts.add("${recordText(c.name, 60) ?: '?'} exit ${c.exitCode}")
        }
    }
    return parts ? " (${parts.join(', ')})" : ''
}

/** A report with nothing in it (success, or no readable record). */
Map emptyReport() {
    return [reasons: [], lines: []]
}

/**
 * The failure report of a release record (docs/release-record.md): [reasons: why the release failed, lines: the
 * report, with each failed task's stop reason and its containers' last log lines or why there are none]. Both empty
 * when the record is missing or unreadable. Only plain strings leave this method.
 */
Map recordReport(String file) {
    if (!fileExists(file)) {
        return emptyReport()
    }
    Object rec = null
    try {
        rec = readJSON(file: file)
    // groovylint-disable-next-line CatchException
    } catch (Exception e) { // whatever is wrong with the record, the build result comes from the exit code
        echo("lgtm: could not read the release record ${file}: ${e.message}")
    }
    if (!(rec instanceof Map)) {
        return emptyReport()
    }
    List reasons = recordTexts(rec.failureReasons, 10, 300)
    List lines = []
    for (int i = 0; i < reasons.size(); i++) {
        lines.add("  why: ${reasons[i]}")
    }
    List tasks = rec.stoppedTasks instanceof List ? rec.stoppedTasks : []
    int shown = 0
    for (int i = tasks.size() - 1; i >= 0 && shown < 5; i--) {
        if (tasks[i] instanceof Map && tasks[i].failed == true) {
            lines.addAll(taskReport(tasks[i]))
            shown++
        }
    }
    rec = null
    return [reasons: reasons, lines: lines]
}

/** The report lines of one failed task of a release record: stop reason, exit codes, last log lines or why none. */
List taskReport(Map task) {
    List lines = ["  task ${recordText(task.taskId, 80) ?: '?'}: ${recordText(task.stoppedReason, 200) ?: 'stopped'}" +
        containerExits(task.containers)]
    List logLines = recordTexts(task.logLines, 200, 300)
    if (logLines) {
        lines.add("    last ${logLines.size()} log line(s):")
    }
    for (int j = 0; j < logLines.size(); j++) {
        lines.add("      | ${logLines[j]}")
    }
    String note = recordText(task.logNote, 300)
    if (note) {
        lines.add("    ${note}")
    }
    return lines
}

/** The verdict word used in build descriptions. */
String verdict(int rc) {
    Map words = [0: 'released', 3: 'rolled back', 4: 'NEEDS ATTENTION', 2: 'rejected, nothing changed',
                 5: 'precondition not met, nothing changed']
    return words.containsKey(rc) ? words[rc] : "failed (exit ${rc})"
}

/** The failure message for a helper exit code other than 0. subject is e.g. "release of mimir 2.14.0 to prod". */
String failureMessage(String step, int rc, String subject) {
    switch (rc) {
        case 2:
            return "${step}: ${subject}: invalid input or configuration (exit 2). Nothing was changed."
        case 3:
            return "${step}: ${subject} failed and was rolled back (exit 3). The old version is serving."
        case 4:
            return "${step}: SERVICE NEEDS ATTENTION: ${subject} failed and the rollback failed or was impossible " +
                '(exit 4). The service may be running a mix of versions or none: check it in the ECS console and ' +
                'run the rollback job.'
        case 5:
            return "${step}: ${subject}: precondition not met (exit 5). Nothing was changed."
        case 1:
            return "${step}: ${subject}: unexpected error (exit 1). See the helper output above."
        default:
            return "${step}: ${subject}: the helper stopped with exit ${rc} (interrupted or killed). See the output above."
    }
}

/** Marks the build failed and stops it with the message for rc (prints a banner first for exit 4). */
void failWithExitCode(String step, int rc, String subject) {
    String message = failureMessage(step, rc, subject)
    currentBuild.result = 'FAILURE'
    if (rc == 4) {
        echo('!' * 100)
        echo(message)
        echo('!' * 100)
    }
    error(message)
}

// ----------------------------------------------------------------------------------------------------------
// Shell scripts. Constants: values only come from the environment (LGTM_*), so nothing a user typed is parsed
// by the shell. POSIX sh (Jenkins runs sh with /bin/sh). `--flag=value` keeps values starting with "-" as values.
// ----------------------------------------------------------------------------------------------------------

String nodeCheckScript() {
    return '''\
if ! command -v node >/dev/null 2>&1; then
  echo "lgtm: node is not on the PATH of this agent" >&2
  exit 127
fi
node --version
node -e 'const m = Number(process.versions.node.split(".")[0]); process.exit(m >= Number(process.env.LGTM_MIN_NODE) ? 0 : 3)'
'''
}

/** Flags shared by every helper command; appended to "$@". */
String commonFlagsScript() {
    return '''\
set -- "$@" "--root=$LGTM_ROOT"
if [ -n "${LGTM_REGION:-}" ]; then set -- "$@" "--region=$LGTM_REGION"; fi
if [ -n "${LGTM_ENDPOINT_URL:-}" ]; then set -- "$@" "--endpoint-url=$LGTM_ENDPOINT_URL"; fi
'''
}

/** Flags naming the revision the image is built from (tag and build). */
String revisionFlagsScript() {
    return '''\
if [ -n "${LGTM_SHA:-}" ]; then set -- "$@" "--sha=$LGTM_SHA"; fi
if [ -n "${LGTM_BRANCH:-}" ]; then set -- "$@" "--branch=$LGTM_BRANCH"; fi
if [ -n "${LGTM_BUILD_NUMBER:-}" ]; then set -- "$@" "--build=$LGTM_BUILD_NUMBER"; fi
'''
}

/** Watch flags shared by deploy and rollback. */
String watchFlagsScript() {
    return '''\
if [ -n "${LGTM_POLL_INTERVAL:-}" ]; then set -- "$@" "--poll-interval=$LGTM_POLL_INTERVAL"; fi
if [ "${LGTM_WAIT_FOR_IDLE:-}" = true ]; then set -- "$@" --wait-for-idle; fi
'''
}

/** Environment for the watch flags (pollInterval, waitForIdle). */
List watchEnv(Map cfg) {
    List vars = ["LGTM_WAIT_FOR_IDLE=${cfg.waitForIdle}"]
    if (cfg.pollInterval) {
        vars.add("LGTM_POLL_INTERVAL=${cfg.pollInterval}")
    }
    return vars
}

String tagScript() {
    return 'set -e\nset -- tag "$LGTM_COMPONENT"\n' + revisionFlagsScript() + commonFlagsScript() +
        'node "$LGTM_BUNDLE" "$@" --json > "$LGTM_TAG_FILE"\n'
}

String buildScript() {
    return 'set -e\nset -- build "$LGTM_COMPONENT" "--env=$LGTM_ENVIRONMENT"\n' + revisionFlagsScript() + '''\
if [ "${LGTM_PUSH:-}" = true ]; then set -- "$@" --push; fi
if [ -n "${LGTM_PLATFORM:-}" ]; then set -- "$@" "--platform=$LGTM_PLATFORM"; fi
if [ "${LGTM_DRY_RUN:-}" = true ]; then set -- "$@" --dry-run; fi
''' + commonFlagsScript() + 'exec node "$LGTM_BUNDLE" "$@"\n'
}

/**
 * The previous run's record goes before the helper starts: a SIGTERM in Node's first ~70-100 ms (before the bundle has
 * installed its handler) ends the process by the signal, and the archived record must never be an older run's.
 */
String removeRecordScript() {
    return 'if [ -f "${LGTM_RECORD:-}" ]; then rm -f -- "$LGTM_RECORD"; fi\n'
}

/** The progress events as JSON lines next to the record (archived with it): for a machine to read after the build. */
String eventsFileScript() {
    return 'if [ -n "${LGTM_EVENTS:-}" ]; then set -- "$@" "--events-file=$LGTM_EVENTS"; fi\n'
}

String deployScript() {
    return 'set -e\n' + removeRecordScript() + 'set -- deploy "$LGTM_COMPONENT" "--env=$LGTM_ENVIRONMENT" "--tag=$LGTM_TAG" ' +
        '"--record=$LGTM_RECORD"\n' + eventsFileScript() + '''\
if [ -n "${LGTM_TIMEOUT:-}" ]; then set -- "$@" "--timeout=$LGTM_TIMEOUT"; fi
if [ "${LGTM_ROLLBACK:-}" = false ]; then set -- "$@" --no-rollback; fi
if [ -n "${LGTM_MAX_FAILED_TASKS:-}" ]; then set -- "$@" "--max-failed-tasks=$LGTM_MAX_FAILED_TASKS"; fi
if [ "${LGTM_ATOMIC:-}" = true ]; then set -- "$@" --atomic; fi
if [ -n "${LGTM_BAKE:-}" ]; then set -- "$@" "--bake=$LGTM_BAKE"; fi
if [ "${LGTM_ANNOTATE:-}" = true ]; then set -- "$@" --annotate; fi
if [ -n "${LGTM_LOG_LINES:-}" ]; then set -- "$@" "--log-lines=$LGTM_LOG_LINES"; fi
if [ "${LGTM_CREATE_MISSING:-}" = true ]; then set -- "$@" --create-missing; fi
if [ "${LGTM_DRY_RUN:-}" = true ]; then set -- "$@" --dry-run; fi
''' + watchFlagsScript() + commonFlagsScript() + 'exec node "$LGTM_BUNDLE" "$@"\n'
}

String rollbackScript() {
    return 'set -e\n' + removeRecordScript() + 'set -- rollback "$LGTM_COMPONENT" "--env=$LGTM_ENVIRONMENT" "--to=$LGTM_TO" ' +
        '"--reason=$LGTM_REASON" "--record=$LGTM_RECORD"\n' + eventsFileScript() +
        'if [ -n "${LGTM_TIMEOUT:-}" ]; then set -- "$@" "--timeout=$LGTM_TIMEOUT"; fi\n' +
        'if [ -n "${LGTM_BAKE:-}" ]; then set -- "$@" "--bake=$LGTM_BAKE"; fi\n' +
        'if [ "${LGTM_ANNOTATE:-}" = true ]; then set -- "$@" --annotate; fi\n' +
        'if [ -n "${LGTM_LOG_LINES:-}" ]; then set -- "$@" "--log-lines=$LGTM_LOG_LINES"; fi\n' +
        watchFlagsScript() + commonFlagsScript() + 'exec node "$LGTM_BUNDLE" "$@"\n'
}

/** All shell scripts the steps may run (tests check every sh call is one of these). */
List allScripts() {
    return [nodeCheckScript(), tagScript(), buildScript(), deployScript(), rollbackScript()]
}
