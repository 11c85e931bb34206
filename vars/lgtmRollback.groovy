/*
 * lgtmRollback: put an LGTM component back on an earlier version in one environment.
 * Help: vars/lgtmRollback.txt. All work is done by the bundled helper (resources/lgtm/lgtm-deploy.mjs).
 */

/** Every parameter and its default (null = none). The .txt help lists exactly these keys. */
Map defaultConfig() {
    return [
        component: null,          // required: mimir, loki, tempo, pyroscope, grafana or alloy
        environment: null,        // required: name of environments/<name>.json, e.g. prod
        to: 'previous',           // previous, a revision number, a task definition ARN or a version/tag
        reason: null,             // required: why (kept in the rollback record and the build log)
        timeout: null,            // how long the rollback may take (90s, 1h30m; default: the helper's, per component)
        bake: null,               // how long the target must stay healthy after it is stable (helper default: 40s + one health-check cycle)
        waitForIdle: false,       // wait for an in-flight deployment to finish instead of failing with exit 5
        pollInterval: null,       // how often the helper polls ECS (helper default 5s)
        grafanaCredentialsId: null, // Jenkins "Secret text" credential: a Grafana token; annotates the rollback (--annotate)
        logLines: null,           // last log lines of each failed container in the report (helper default 20; 0 = off)
        awsCredentialsId: null,   // Jenkins "AWS Credentials" ID bound to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
        roleArn: null,            // IAM role to assume with withAWS (instead of awsCredentialsId)
        region: null,             // AWS region (default: the environment file's region)
        endpointUrl: null,        // AWS endpoint override (tests / the local emulator)
        root: null,               // directory holding environments/ and taskdefs/ (default: workspace)
    ]
}

def call(Map userConfig = [:]) {
    Map cfg = validate(userConfig)
    String bundle = lgtmInternal.prepareBundle('lgtmRollback')
    String record = "lgtm-rollback-${cfg.component}.json"
    String events = "lgtm-rollback-events-${cfg.component}.jsonl"
    List envVars = lgtmInternal.baseEnv(bundle, cfg)
    envVars.addAll([
        "LGTM_TO=${cfg.to}",
        "LGTM_REASON=${cfg.reason}",
        "LGTM_RECORD=${pwd()}/${record}",
        "LGTM_EVENTS=${pwd()}/${events}",
    ])
    if (cfg.timeout) {
        envVars.add("LGTM_TIMEOUT=${cfg.timeout}")
    }
    if (cfg.bake) {
        envVars.add("LGTM_BAKE=${cfg.bake}")
    }
    if (cfg.grafanaCredentialsId) {
        envVars.add('LGTM_ANNOTATE=true')
    }
    if (cfg.logLines != null) {
        envVars.add("LGTM_LOG_LINES=${cfg.logLines}")
    }
    envVars.addAll(lgtmInternal.watchEnv(cfg))
    echo("lgtmRollback: rolling ${cfg.component} in ${cfg.environment} back to ${cfg.to}")
    int rc = 0
    lgtmInternal.withAwsAuth(cfg) {
        // The Grafana token is bound around the rollback only, and reaches the helper only as LGTM_GRAFANA_TOKEN.
        lgtmInternal.withGrafanaToken(cfg) {
            withEnv(envVars) {
                rc = sh(script: lgtmInternal.rollbackScript(), returnStatus: true,
                    label: "lgtm: roll back ${cfg.component} in ${cfg.environment} to ${cfg.to}")
            }
        }
    }
    archiveArtifacts(artifacts: "${record},${events}".toString(), allowEmptyArchive: true, fingerprint: true)
    Map report = rc == 0 ? lgtmInternal.emptyReport() : lgtmInternal.recordReport(record)
    String verdict = rc == 0 ? "rolled back to ${cfg.to}" : lgtmInternal.verdict(rc)
    String why = report.reasons ? " - ${report.reasons[0]}" : ''
    currentBuild.description = "${cfg.component} -> ${cfg.environment}: ${verdict}${why}"
    if (rc != 0) {
        if (report.lines) {
            echo("lgtmRollback: rollback report (${record})\n${report.lines.join('\n')}")
        }
        echo("lgtmRollback: ${currentBuild.description}")
        lgtmInternal.failWithExitCode('lgtmRollback', rc, "rollback of ${cfg.component} in ${cfg.environment} to ${cfg.to}")
    }
    echo("lgtmRollback: ${cfg.component} in ${cfg.environment} is back on ${cfg.to}")
    return [component: cfg.component, environment: cfg.environment, to: cfg.to, record: record, exitCode: rc]
}

/** Validates every parameter before anything runs; returns the merged, normalized config. */
Map validate(Map userConfig) {
    String step = 'lgtmRollback'
    Map cfg = lgtmInternal.mergeConfig(step, defaultConfig(), userConfig, ['component', 'environment', 'reason'])
    cfg.component = lgtmInternal.component(step, cfg.component)
    cfg.environment = lgtmInternal.environmentName(step, cfg.environment)
    cfg.to = lgtmInternal.rollbackTarget(step, cfg.component, cfg.to)
    cfg.reason = lgtmInternal.reasonText(step, cfg.reason)
    cfg.timeout = lgtmInternal.duration(step, 'timeout', cfg.timeout, true)
    cfg.bake = lgtmInternal.duration(step, 'bake', cfg.bake, true)
    cfg.pollInterval = lgtmInternal.duration(step, 'pollInterval', cfg.pollInterval, true)
    cfg.waitForIdle = lgtmInternal.flag(step, 'waitForIdle', cfg.waitForIdle)
    cfg.grafanaCredentialsId = lgtmInternal.credentialsIdParam(step, 'grafanaCredentialsId', cfg.grafanaCredentialsId)
    cfg.logLines = lgtmInternal.number(step, 'logLines', cfg.logLines, 0, 200, true)
    lgtmInternal.validateAws(step, cfg)
    cfg.root = lgtmInternal.rootDir(step, cfg.root ?: pwd())
    return cfg
}
