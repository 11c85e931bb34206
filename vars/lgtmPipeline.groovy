/*
 * lgtmPipeline: the whole declarative pipeline for one component, so dockerfiles/<component>/Jenkinsfile is
 *   @Library('lgtm') _
 *   lgtmPipeline(component: 'mimir')
 * Build on every branch; deploy only from a branch mapped to an environment, never from a pull request, and only
 * when the component's files changed (or a person started the build). Help: vars/lgtmPipeline.txt.
 */

/** Every parameter and its default (null = none). The .txt help lists exactly these keys. */
Map defaultConfig() {
    return [
        component: null,            // required: mimir, loki, tempo, pyroscope, grafana or alloy
        branches: [main: 'prod'],   // branch -> environment to deploy to; other branches only build
        approvalEnvironments: [],   // environments that need an input approval before the deploy, e.g. ['prod']
        approvers: null,            // comma-separated users/groups allowed to approve (null: anyone with Build permission)
        approvalTimeoutMinutes: 60, // how long the approval waits before the build is aborted
        buildEnvironment: null,     // environment used to build on branches that do not deploy (default: first in branches)
        agentLabel: '',             // agent label expression ('' = any agent)
        timeoutMinutes: null,       // timeout of the whole build (default: buildTimeBudget(): build + approval + release + its rollback)
        deployTimeout: null,        // lgtmDeploy timeout (default: the helper's, per component)
        rollback: true,             // lgtmDeploy rollback
        maxFailedTasks: null,       // lgtmDeploy maxFailedTasks
        atomic: false,              // lgtmDeploy atomic
        awsCredentialsId: null,     // lgtmDeploy awsCredentialsId
        roleArn: null,              // lgtmDeploy roleArn
        region: null,               // lgtmDeploy region
        dryRun: false,              // lgtmDeploy dryRun
        grafanaCredentialsId: null, // lgtmDeploy grafanaCredentialsId (Deploy stage only)
        logLines: null,             // lgtmDeploy logLines (Deploy stage only)
    ]
}

def call(Map userConfig = [:]) {
    Map cfg = validate(userConfig)
    String component = cfg.component
    String deployEnvironment = cfg.branches[env.BRANCH_NAME]
    String buildEnvironment = cfg.buildEnvironment ?: (deployEnvironment ?: new ArrayList(cfg.branches.values())[0])
    boolean needsApproval = deployEnvironment != null && cfg.approvalEnvironments.contains(deployEnvironment)
    String lockName = "lgtm-${deployEnvironment}-${component}"
    Map common = [component: component, rollback: cfg.rollback, maxFailedTasks: cfg.maxFailedTasks, atomic: cfg.atomic,
                  awsCredentialsId: cfg.awsCredentialsId, roleArn: cfg.roleArn, region: cfg.region, dryRun: cfg.dryRun]
    Map buildArgs = [environment: buildEnvironment, push: false, deploy: false] + common
    Map deployArgs = [environment: deployEnvironment, timeout: cfg.deployTimeout] + common
    int budget = buildTimeBudget(cfg, needsApproval)
    if (cfg.timeoutMinutes == null) {
        cfg.timeoutMinutes = budget
    } else if (cfg.timeoutMinutes < budget) {
        lgtmInternal.fail('lgtmPipeline', "timeoutMinutes ${cfg.timeoutMinutes} is shorter than the build may need: " +
            "${budgetText(cfg, needsApproval)} = ${budget} minutes; Jenkins would abort a healthy ${component} release " +
            'or its rollback midway. Raise it or leave it out')
    }
    if (cfg.grafanaCredentialsId) {
        deployArgs.grafanaCredentialsId = cfg.grafanaCredentialsId
    }
    if (cfg.logLines != null) {
        deployArgs.logLines = cfg.logLines
    }
    Map inputArgs = [message: "Deploy ${component} to ${deployEnvironment}?", ok: 'Deploy']
    if (cfg.approvers) {
        inputArgs.submitter = cfg.approvers
    }

    pipeline {
        agent {
            label cfg.agentLabel
        }
        options {
            timestamps()
            timeout(time: cfg.timeoutMinutes, unit: 'MINUTES')
            disableConcurrentBuilds()
            buildDiscarder(logRotator(numToKeepStr: '50'))
        }
        stages {
            stage('Build') {
                steps {
                    script {
                        lgtmDeploy(buildArgs)
                    }
                }
            }
            stage('Approve') {
                when {
                    allOf {
                        not { changeRequest() }
                        expression { return needsApproval }
                        anyOf {
                            changeset "dockerfiles/${component}/**"
                            changeset "taskdefs/${component}*.json"
                            changeset 'environments/**'
                            triggeredBy 'UserIdCause'
                        }
                    }
                }
                steps {
                    timeout(time: cfg.approvalTimeoutMinutes, unit: 'MINUTES') {
                        script {
                            input(inputArgs)
                        }
                    }
                }
            }
            stage('Deploy') {
                when {
                    allOf {
                        not { changeRequest() }
                        expression { return deployEnvironment != null }
                        anyOf {
                            changeset "dockerfiles/${component}/**"
                            changeset "taskdefs/${component}*.json"
                            changeset 'environments/**'
                            triggeredBy 'UserIdCause'
                        }
                    }
                }
                steps {
                    lock(resource: lockName) {
                        script {
                            lgtmDeploy(deployArgs)
                        }
                    }
                }
            }
        }
    }
}

/** Minutes the image build and push may take (the part of the build before any release). */
int buildMinutes() {
    return 30
}

/** Minutes of the release: deployTimeout when given, else the helper's default for the component. */
int deployMinutes(Map cfg) {
    if (cfg.deployTimeout) {
        return (int) Math.ceil(lgtmInternal.durationSeconds(cfg.deployTimeout) / 60.0d)
    }
    return lgtmInternal.releaseMinutes()[cfg.component]
}

/**
 * The whole build's Jenkins timeout must cover the build, the approval wait, the release and the rollback that may
 * follow it (the helper's --rollback-timeout default is the component's release default), never less than 90 minutes.
 */
int buildTimeBudget(Map cfg, boolean needsApproval) {
    int total = buildMinutes() + (needsApproval ? cfg.approvalTimeoutMinutes : 0) + deployMinutes(cfg) +
        lgtmInternal.releaseMinutes()[cfg.component]
    return Math.max(90, total)
}

String budgetText(Map cfg, boolean needsApproval) {
    String approval = needsApproval ? " + approval ${cfg.approvalTimeoutMinutes}" : ''
    return "build ${buildMinutes()}${approval} + release ${deployMinutes(cfg)} + its rollback " +
        "${lgtmInternal.releaseMinutes()[cfg.component]} (at least 90)"
}

/** Validates every parameter before the pipeline starts; returns the merged config. */
Map validate(Map userConfig) {
    String step = 'lgtmPipeline'
    Map cfg = lgtmInternal.mergeConfig(step, defaultConfig(), userConfig, ['component'])
    cfg.component = lgtmInternal.component(step, cfg.component)
    if (!(cfg.branches instanceof Map) || cfg.branches.isEmpty()) {
        lgtmInternal.fail(step, "branches must be a non-empty map of branch name to environment, like [main: 'prod']")
    }
    List names = new ArrayList(cfg.branches.keySet())
    Map branches = [:]
    for (int i = 0; i < names.size(); i++) {
        String branch = lgtmInternal.branchName(step, 'branches key', names[i])
        branches[branch] = lgtmInternal.environmentName(step, cfg.branches[names[i]])
    }
    cfg.branches = branches
    if (!(cfg.approvalEnvironments instanceof List)) {
        lgtmInternal.fail(step, "approvalEnvironments must be a list of environment names, like ['prod']")
    }
    List approval = []
    for (int i = 0; i < cfg.approvalEnvironments.size(); i++) {
        approval.add(lgtmInternal.environmentName(step, cfg.approvalEnvironments[i]))
    }
    cfg.approvalEnvironments = approval
    cfg.approvers = lgtmInternal.matching(step, 'approvers', cfg.approvers, '[A-Za-z0-9._@ ,-]{1,500}',
        'comma-separated user or group names', true)
    cfg.approvalTimeoutMinutes = lgtmInternal.number(step, 'approvalTimeoutMinutes', cfg.approvalTimeoutMinutes, 1, 10080, false)
        .toInteger()
    String minutes = lgtmInternal.number(step, 'timeoutMinutes', cfg.timeoutMinutes, 1, 1440, true)
    cfg.timeoutMinutes = minutes == null ? null : minutes.toInteger()
    if (cfg.buildEnvironment != null) {
        cfg.buildEnvironment = lgtmInternal.environmentName(step, cfg.buildEnvironment)
    }
    cfg.agentLabel = lgtmInternal.matching(step, 'agentLabel', cfg.agentLabel, '[A-Za-z0-9._:&|!() -]{0,200}',
        'a label expression', false)
    // The remaining lgtmDeploy parameters are validated by lgtmDeploy itself, here early for a clear error.
    cfg.deployTimeout = lgtmInternal.duration(step, 'deployTimeout', cfg.deployTimeout, true)
    cfg.rollback = lgtmInternal.flag(step, 'rollback', cfg.rollback)
    cfg.atomic = lgtmInternal.flag(step, 'atomic', cfg.atomic)
    cfg.dryRun = lgtmInternal.flag(step, 'dryRun', cfg.dryRun)
    cfg.maxFailedTasks = lgtmInternal.number(step, 'maxFailedTasks', cfg.maxFailedTasks, 0, 1000, true)
    cfg.awsCredentialsId = lgtmInternal.credentialsId(step, cfg.awsCredentialsId)
    cfg.roleArn = lgtmInternal.roleArn(step, cfg.roleArn)
    cfg.region = lgtmInternal.region(step, cfg.region)
    cfg.grafanaCredentialsId = lgtmInternal.credentialsIdParam(step, 'grafanaCredentialsId', cfg.grafanaCredentialsId)
    cfg.logLines = lgtmInternal.number(step, 'logLines', cfg.logLines, 0, 200, true)
    return cfg
}
