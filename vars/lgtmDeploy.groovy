/*
 * lgtmDeploy: one LGTM component through the whole release for one environment.
 *   tag (semver + SHA) -> build and push (skipped when the tag is already in ECR) -> deploy with automatic
 *   rollback -> archive the release record -> build description.
 * Help: vars/lgtmDeploy.txt. All work is done by the bundled helper (resources/lgtm/lgtm-deploy.mjs).
 */

/** Every parameter and its default (null = none). The .txt help lists exactly these keys. */
Map defaultConfig() {
    return [
        component: null,          // required: mimir, loki, tempo, pyroscope, grafana or alloy
        environment: null,        // required: name of environments/<name>.json, e.g. prod
        timeout: null,            // how long the deploy may take before it fails (90s, 1h30m; default: the helper's, per component)
        rollback: true,           // roll back automatically when the release fails
        maxFailedTasks: null,     // fail the release after this many stopped tasks (helper default when null)
        atomic: false,            // all-or-nothing release (helper --atomic)
        bake: null,               // how long the new version must stay healthy after it is stable (helper default: 40s + one health-check cycle)
        createMissing: false,     // create the ECS service if it does not exist yet
        waitForIdle: false,       // wait for an in-flight deployment to finish instead of failing with exit 5
        pollInterval: null,       // how often the helper polls ECS (helper default 5s)
        awsCredentialsId: null,   // Jenkins "AWS Credentials" ID bound to AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
        roleArn: null,            // IAM role to assume with withAWS (instead of awsCredentialsId)
        region: null,             // AWS region (default: the environment file's region)
        endpointUrl: null,        // AWS endpoint override (tests / the local emulator)
        dryRun: false,            // show what would happen, change nothing
        root: null,               // directory holding dockerfiles/, taskdefs/, environments/ (default: workspace)
        sha: null,                // commit to tag (default: env.GIT_COMMIT, else the helper asks git)
        branch: null,             // branch name for the tag (default: env.BRANCH_NAME)
        buildNumber: null,        // build number for the tag (default: env.BUILD_NUMBER)
        platform: null,           // image platform linux/amd64 or linux/arm64 (default: the environment's)
        build: true,              // build the image (skipped by the helper when the tag is already in ECR)
        push: true,               // push the built image to ECR
        deploy: true,             // deploy after building (false = build only)
        grafanaCredentialsId: null, // Jenkins "Secret text" credential: a Grafana token; annotates the release (--annotate)
        logLines: null,           // last log lines of each failed container in the report (helper default 20; 0 = off)
    ]
}

def call(Map userConfig = [:]) {
    Map cfg = validate(userConfig)
    String bundle = lgtmInternal.prepareBundle('lgtmDeploy')
    String workspace = pwd()
    String tmp = pwd(tmp: true)
    String subject = "${cfg.component} to ${cfg.environment}"
    Map result = [component: cfg.component, environment: cfg.environment, version: null, tag: null,
                  record: "lgtm-release-${cfg.component}.json", events: "lgtm-events-${cfg.component}.jsonl",
                  exitCode: 0, verdict: null]

    List envVars = lgtmInternal.baseEnv(bundle, cfg)
    envVars.addAll(revisionEnv(cfg))
    envVars.add("LGTM_TAG_FILE=${tmp}/lgtm-tag-${cfg.component}.json")
    envVars.add("LGTM_RECORD=${workspace}/${result.record}")
    envVars.add("LGTM_EVENTS=${workspace}/${result.events}")

    int rc = 0
    lgtmInternal.withAwsAuth(cfg) {
        withEnv(envVars) {
            rc = sh(script: lgtmInternal.tagScript(), returnStatus: true, label: "lgtm: tag ${cfg.component}")
        }
    }
    if (rc != 0) {
        finish(cfg, result, rc, "computing the image tag for ${subject}")
    }
    Map tagInfo = readJSON(file: "${tmp}/lgtm-tag-${cfg.component}.json")
    result.version = tagInfo.version == null ? null : tagInfo.version.toString()
    result.tag = lgtmInternal.imageTag('lgtmDeploy', 'tag printed by the helper', tagInfo.tag == null ? null : tagInfo.tag.toString())
    tagInfo = null
    subject = "release of ${cfg.component} ${result.tag} to ${cfg.environment}"
    echo("lgtmDeploy: ${cfg.component} version ${result.version}, image tag ${result.tag}, environment ${cfg.environment}")
    envVars.add("LGTM_TAG=${result.tag}")

    if (cfg.build) {
        lgtmInternal.withAwsAuth(cfg) {
            withEnv(envVars + buildEnv(cfg)) {
                rc = sh(script: lgtmInternal.buildScript(), returnStatus: true, label: "lgtm: build ${cfg.component} ${result.tag}")
            }
        }
        if (rc != 0) {
            finish(cfg, result, rc, "building ${cfg.component} ${result.tag} for ${cfg.environment}")
        }
    }
    if (!cfg.deploy) {
        result.verdict = cfg.build ? 'built' : 'tagged'
        currentBuild.description = "${cfg.component} ${result.version ?: ''} (${result.tag}): ${result.verdict}"
        return result
    }

    lgtmInternal.withAwsAuth(cfg) {
        // The Grafana token is bound around the deploy only, and reaches the helper only as LGTM_GRAFANA_TOKEN.
        lgtmInternal.withGrafanaToken(cfg) {
            withEnv(envVars + deployEnv(cfg)) {
                rc = sh(script: lgtmInternal.deployScript(), returnStatus: true,
                    label: "lgtm: deploy ${cfg.component} ${result.tag} to ${cfg.environment}")
            }
        }
    }
    archiveArtifacts(artifacts: "${result.record},${result.events}".toString(), allowEmptyArchive: true, fingerprint: true)
    return finish(cfg, result, rc, subject, rc == 0 ? lgtmInternal.emptyReport() : lgtmInternal.recordReport(result.record))
}

Map finish(Map cfg, Map result, int rc, String subject) {
    return finish(cfg, result, rc, subject, lgtmInternal.emptyReport())
}

/**
 * Sets the description and maps the helper's exit code to the build result (fails the build unless rc is 0). On
 * failure the console ends with the report from the release record (why, failed tasks, their last log lines) and the
 * one-line verdict, which is also the build description.
 */
Map finish(Map cfg, Map result, int rc, String subject, Map report) {
    result.exitCode = rc
    result.verdict = lgtmInternal.verdict(rc)
    String version = result.version ?: result.tag ?: '?'
    String dry = cfg.dryRun ? ' (dry run)' : ''
    String why = report.reasons ? " - ${report.reasons[0]}" : ''
    String verdictLine = "${cfg.component} ${version} -> ${cfg.environment}: ${result.verdict}${dry}${why}"
    currentBuild.description = verdictLine
    if (rc != 0) {
        if (report.lines) {
            echo("lgtmDeploy: release report (${result.record})\n${report.lines.join('\n')}")
        }
        echo("lgtmDeploy: ${verdictLine}")
        lgtmInternal.failWithExitCode('lgtmDeploy', rc, subject)
    }
    echo("lgtmDeploy: ${cfg.component} ${result.tag} is released to ${cfg.environment}${dry}")
    return result
}

/** Validates every parameter before anything runs; returns the merged, normalized config. */
Map validate(Map userConfig) {
    String step = 'lgtmDeploy'
    Map cfg = lgtmInternal.mergeConfig(step, defaultConfig(), userConfig, ['component', 'environment'])
    cfg.component = lgtmInternal.component(step, cfg.component)
    cfg.environment = lgtmInternal.environmentName(step, cfg.environment)
    cfg.timeout = lgtmInternal.duration(step, 'timeout', cfg.timeout, true)
    cfg.bake = lgtmInternal.duration(step, 'bake', cfg.bake, true)
    cfg.pollInterval = lgtmInternal.duration(step, 'pollInterval', cfg.pollInterval, true)
    cfg.maxFailedTasks = lgtmInternal.number(step, 'maxFailedTasks', cfg.maxFailedTasks, 0, 1000, true)
    List flags = ['rollback', 'atomic', 'createMissing', 'waitForIdle', 'dryRun', 'build', 'push', 'deploy']
    for (int i = 0; i < flags.size(); i++) {
        cfg[flags[i]] = lgtmInternal.flag(step, flags[i], cfg[flags[i]])
    }
    lgtmInternal.validateAws(step, cfg)
    cfg.grafanaCredentialsId = lgtmInternal.credentialsIdParam(step, 'grafanaCredentialsId', cfg.grafanaCredentialsId)
    cfg.logLines = lgtmInternal.number(step, 'logLines', cfg.logLines, 0, 200, true)
    cfg.platform = lgtmInternal.matching(step, 'platform', cfg.platform, 'linux/(amd64|arm64)', 'linux/amd64 or linux/arm64', true)
    cfg.sha = lgtmInternal.gitSha(step, cfg.sha ?: env.GIT_COMMIT)
    cfg.branch = lgtmInternal.branchName(step, 'branch', cfg.branch ?: env.BRANCH_NAME)
    cfg.buildNumber = lgtmInternal.number(step, 'buildNumber', cfg.buildNumber ?: env.BUILD_NUMBER, 0, 999999, true)
    cfg.root = lgtmInternal.rootDir(step, cfg.root ?: pwd())
    if (!cfg.build && !cfg.deploy) {
        lgtmInternal.fail(step, 'build: false and deploy: false leaves nothing to do')
    }
    return cfg
}

List revisionEnv(Map cfg) {
    List vars = []
    if (cfg.sha) {
        vars.add("LGTM_SHA=${cfg.sha}")
    }
    if (cfg.branch) {
        vars.add("LGTM_BRANCH=${cfg.branch}")
    }
    if (cfg.buildNumber) {
        vars.add("LGTM_BUILD_NUMBER=${cfg.buildNumber}")
    }
    return vars
}

List buildEnv(Map cfg) {
    List vars = ["LGTM_PUSH=${cfg.push}", "LGTM_DRY_RUN=${cfg.dryRun}"]
    if (cfg.platform) {
        vars.add("LGTM_PLATFORM=${cfg.platform}")
    }
    return vars
}

List deployEnv(Map cfg) {
    List vars = [
        "LGTM_ROLLBACK=${cfg.rollback}",
        "LGTM_ATOMIC=${cfg.atomic}",
        "LGTM_CREATE_MISSING=${cfg.createMissing}",
        "LGTM_DRY_RUN=${cfg.dryRun}",
    ]
    if (cfg.timeout) {
        vars.add("LGTM_TIMEOUT=${cfg.timeout}")
    }
    if (cfg.maxFailedTasks != null) {
        vars.add("LGTM_MAX_FAILED_TASKS=${cfg.maxFailedTasks}")
    }
    if (cfg.bake) {
        vars.add("LGTM_BAKE=${cfg.bake}")
    }
    if (cfg.grafanaCredentialsId) {
        vars.add('LGTM_ANNOTATE=true')
    }
    if (cfg.logLines != null) {
        vars.add("LGTM_LOG_LINES=${cfg.logLines}")
    }
    vars.addAll(lgtmInternal.watchEnv(cfg))
    return vars
}
