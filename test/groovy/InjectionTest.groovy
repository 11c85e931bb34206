/**
 * Hostile values in every parameter that reaches a shell are rejected before any sh, or travel inertly in the
 * environment: the sh script text is always one of the library's constant scripts.
 */
class InjectionTest {

    static final List<String> HOSTILE = [
        'mimir; rm -rf /', '$(id)', '`id`', "mimir' || true '", 'mimir" && id "', 'mimir\nid', '${PATH}', '| id',
        '--help', '-x', 'a b', '../../etc/passwd', 'mimir & id', 'x\u0000y',
    ]

    static final Map DEPLOY_BASE = [component: 'mimir', environment: 'prod']
    static final List DEPLOY_PARAMS = ['component', 'environment', 'timeout', 'maxFailedTasks', 'bake', 'region',
                                       'endpointUrl', 'root', 'sha', 'branch', 'buildNumber', 'platform',
                                       'awsCredentialsId', 'roleArn', 'pollInterval', 'grafanaCredentialsId', 'logLines']
    static final Map ROLLBACK_BASE = [component: 'mimir', environment: 'prod', reason: 'bad release']
    static final List ROLLBACK_PARAMS = ['component', 'environment', 'to', 'reason', 'timeout', 'region', 'endpointUrl',
                                         'root', 'awsCredentialsId', 'roleArn', 'pollInterval', 'grafanaCredentialsId',
                                         'logLines']

    /** Either rejected before any sh, or every sh ran a constant script (the value is only in the env). */
    private void check(String stepName, Map base, String param, String value) {
        PipelineHarness h = TestSupport.harness()
        h.awsCredentials[value] = [accessKey: 'AKIA', secretKey: 'secret']
        try {
            PipelineHarness.PipelineError e = h.stepError(stepName, base + [(param): value])
            List scripts = h.scripts.lgtmInternal.allScripts()
            if (e != null && h.shCalls.isEmpty()) {
                assert e.message.startsWith("${stepName}: ")
                return
            }
            assert !h.shCalls.isEmpty()
            h.shCalls.each { Map call ->
                assert scripts.contains(call.script): "${stepName} ${param}=${value}: sh ran a non-constant script"
                if (value.length() > 2) {
                    assert !call.script.contains(value)
                }
            }
        } finally {
            h.cleanup()
        }
    }

    void testDeployParametersRejectOrCarryHostileValuesInertly() {
        DEPLOY_PARAMS.each { String p -> HOSTILE.each { String v -> check('lgtmDeploy', DEPLOY_BASE, p, v) } }
    }

    void testRollbackParametersRejectOrCarryHostileValuesInertly() {
        ROLLBACK_PARAMS.each { String p -> HOSTILE.each { String v -> check('lgtmRollback', ROLLBACK_BASE, p, v) } }
    }

    void testHostileComponentNeverReachesSh() {
        HOSTILE.each { String v ->
            PipelineHarness h = TestSupport.harness()
            assert h.stepError('lgtmDeploy', [component: v, environment: 'prod']) != null
            assert h.stepError('lgtmRollback', [component: v, environment: 'prod', reason: 'why not']) != null
            assert h.stepError('lgtmPipeline', [component: v]) != null
            assert h.shCalls.isEmpty()
            h.cleanup()
        }
    }

    void testEveryShCallIsAConstantSingleQuotedScriptWithALabel() {
        PipelineHarness h = TestSupport.harness()
        h.step('lgtmDeploy', DEPLOY_BASE + [maxFailedTasks: 2, bake: '5m', region: 'eu-west-1', atomic: true])
        assert TestSupport.helperKinds(h) == ['node', 'tag', 'build', 'deploy']
        h.shCalls.each { assert it.returnStatus && it.label?.startsWith('lgtm: ') }
        Map deploy = h.shCalls[3]
        assert deploy.env.LGTM_COMPONENT == 'mimir'
        assert deploy.env.LGTM_TAG == '2.14.0-0123456'
        assert deploy.env.LGTM_MAX_FAILED_TASKS == '2'
        assert deploy.env.LGTM_BAKE == '5m'
        assert deploy.env.LGTM_ATOMIC == 'true'
        assert deploy.env.AWS_REGION == 'eu-west-1'
        h.cleanup()
    }

    /** Proof with a real shell: a hostile reason arrives as one argv element and nothing is executed. */
    void testHostileReasonIsOneArgumentInARealShell() {
        PipelineHarness h = TestSupport.harness()
        File calls = TestSupport.fakeNodeBin(h)
        h.realSh = true
        String reason = 'oops $(touch PWNED1) `touch PWNED2` ; touch PWNED3 \' " || touch PWNED4 ${HOME}'
        h.step('lgtmRollback', [component: 'tempo', environment: 'prod', to: '2.14.0-0123456', reason: reason])
        List<List<String>> argv = TestSupport.nodeCalls(calls)
        assert argv.size() == 1
        assert argv[0][0..3] == ['rollback', 'tempo', '--env=prod', '--to=2.14.0-0123456']
        assert argv[0].contains('--reason=' + reason)
        // No timeout given: the helper's per-component default applies, so no --timeout is passed.
        assert !argv[0].any { String a -> a.startsWith('--timeout') }
        assert argv[0].contains("--root=${h.workspace.path}".toString())
        assert !h.workspace.list().any { it.startsWith('PWNED') }
        assert !new File('PWNED1').exists()
        h.cleanup()
    }

    /** Real shell: the deploy argv the helper receives for a full release, flag by flag. */
    void testDeployArgvInARealShell() {
        PipelineHarness h = TestSupport.harness()
        File calls = TestSupport.fakeNodeBin(h)
        h.realSh = true
        h.baseEnv.BRANCH_NAME = 'feature/x-1'
        h.step('lgtmDeploy', [component: 'loki', environment: 'prod', timeout: '1h30m', rollback: false,
                              maxFailedTasks: 0, platform: 'linux/arm64', endpointUrl: 'http://127.0.0.1:4566'])
        List<List<String>> argv = TestSupport.nodeCalls(calls)
        String ws = h.workspace.path
        assert argv[0] == ['tag', 'loki', '--sha=0123456789abcdef0123456789abcdef01234567', '--branch=feature/x-1',
                           '--build=42', "--root=${ws}".toString(), '--endpoint-url=http://127.0.0.1:4566', '--json']
        assert argv[1] == ['build', 'loki', '--env=prod', '--sha=0123456789abcdef0123456789abcdef01234567',
                           '--branch=feature/x-1', '--build=42', '--push', '--platform=linux/arm64',
                           "--root=${ws}".toString(), '--endpoint-url=http://127.0.0.1:4566']
        assert argv[2] == ['deploy', 'loki', '--env=prod', '--tag=2.14.0-0123456',
                           "--record=${ws}/lgtm-release-loki.json".toString(), "--events-file=${ws}/lgtm-events-loki.jsonl".toString(),
                           '--timeout=1h30m', '--no-rollback', '--max-failed-tasks=0',
                           "--root=${ws}".toString(), '--endpoint-url=http://127.0.0.1:4566']
        assert h.currentBuild.description == 'loki 2.14.0 -> prod: released'
        h.cleanup()
    }

    /** The constant scripts are POSIX: they also work under dash, which is /bin/sh on Debian agents. */
    void testScriptsRunUnderDash() {
        if (!new File('/bin/dash').exists()) {
            return
        }
        PipelineHarness h = TestSupport.harness()
        File calls = TestSupport.fakeNodeBin(h)
        // An older run's record at the path: removed before the helper starts (a SIGTERM in Node's start-up must not
        // leave it to be archived as this run's).
        File record = File.createTempFile('lgtm-release-alloy', '.json')
        record.text = '{"runId":"an-older-run"}'
        Map env = h.effectiveEnv() + [LGTM_BUNDLE: '/b.mjs', LGTM_COMPONENT: 'alloy', LGTM_ENVIRONMENT: 'prod',
                                      LGTM_TO: 'previous', LGTM_REASON: 'x $(id)', LGTM_TIMEOUT: '5m', LGTM_RECORD: record.path,
                                      LGTM_ROOT: '/r']
        ProcessBuilder pb = new ProcessBuilder('/bin/dash', '-e', '-c', h.scripts.lgtmInternal.rollbackScript())
        pb.environment().clear()
        env.each { k, v -> pb.environment().put(k.toString(), v.toString()) }
        Process p = pb.start()
        p.waitFor()
        assert p.exitValue() == 0: p.errorStream.text
        assert TestSupport.nodeCalls(calls)[0] == ['rollback', 'alloy', '--env=prod', '--to=previous', '--reason=x $(id)',
                                                   "--record=${record.path}".toString(), '--timeout=5m', '--root=/r']
        assert new File(calls.parentFile, 'record-at-start').text.trim() == 'absent': 'the previous record is removed before the helper starts'
        h.cleanup()
    }
}
