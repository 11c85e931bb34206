import groovy.json.JsonOutput

/**
 * lgtmDeploy's Grafana token (grafanaCredentialsId) and log-lines (logLines) parameters, and the failure report it
 * prints from the release record: bound and passed only through the environment, never in a script or the log.
 */
class ReleaseReportTest {

    static final Map DEPLOY = [component: 'loki', environment: 'prod']

    /** A record as the helper writes it for a crash-looping release that was rolled back (docs/release-record.md). */
    static Map failedRecord() {
        return [
            schemaVersion: 1, component: 'loki', environment: 'prod', version: '2.14.0', verdict: 'rolled-back', exitCode: 3,
            failureReasons: ['2 task(s) of the new task definition failed (limit --max-failed-tasks 2)'],
            stoppedTasks: [
                [taskId: 'aaa111', stoppedReason: 'Essential container in task exited', failed: true,
                 containers: [[name: 'loki', exitCode: 1]],
                 logLines: ['level=info msg="Starting Loki"', 'panic: invalid memberlist configuration'], ],
                [taskId: 'bbb222', stoppedReason: 'Essential container in task exited', failed: true,
                 containers: [[name: 'loki', exitCode: 1]], logLines: [],
                 logNote: 'logs unavailable: AccessDeniedException on logs:GetLogEvents for /ecs/lgtm/loki - add it to the Jenkins role'],
                [taskId: 'ccc333', stoppedReason: 'Scaling activity initiated by deployment', failed: false, containers: []],
            ],
        ]
    }

    private PipelineHarness harness(Map codes = [:], Map record = null) {
        PipelineHarness h = TestSupport.harness(codes)
        Closure base = h.shHandler
        h.shHandler = { Map call ->
            Object rc = base.call(call)
            if (record != null && TestSupport.kind(h, call) in ['deploy', 'rollback']) {
                new File(call.env.LGTM_RECORD).text = JsonOutput.toJson(record)
            }
            return rc
        }
        return h
    }

    private static void assertNoLeak(PipelineHarness h, String secret) {
        h.shCalls.each { assert !it.script.contains(secret) && !(it.label ?: '').contains(secret) }
        h.echoes.each { assert !it.contains(secret) }
        assert !(h.currentBuild.description ?: '').contains(secret)
        h.callsOf('withEnv').each { assert !it.args.any { String kv -> kv.contains(secret) } }
        h.callsOf('error').each { assert !it.args.contains(secret) }
    }

    void testGrafanaTokenIsBoundAroundTheDeployOnly() {
        [0, 3, 4].each { int code ->
            PipelineHarness h = harness([deploy: code])
            h.stepError('lgtmDeploy', DEPLOY + [grafanaCredentialsId: 'grafana-annotations'])
            assert h.callsOf('withCredentials')*.args == [[[type: 'string', credentialsId: 'grafana-annotations',
                                                            variable: 'LGTM_GRAFANA_TOKEN']]]
            Map byKind = h.shCalls.collectEntries { [(TestSupport.kind(h, it)): it] }
            assert byKind.deploy.inBinding && byKind.deploy.env.LGTM_GRAFANA_TOKEN == 'secret-of-grafana-annotations'
            assert byKind.deploy.env.LGTM_ANNOTATE == 'true'
            ['node', 'tag', 'build'].each { assert byKind[it].env.LGTM_GRAFANA_TOKEN == null && !byKind[it].inBinding }
            assert h.secretValues == ['secret-of-grafana-annotations']
            assertNoLeak(h, 'secret-of-grafana-annotations')
            h.cleanup()
        }
    }

    void testGrafanaTokenNestsInsideTheAwsBinding() {
        PipelineHarness h = harness()
        h.awsCredentials['aws-lgtm'] = [accessKey: 'AKIAEXAMPLE', secretKey: 'aws-secret']
        h.step('lgtmDeploy', DEPLOY + [grafanaCredentialsId: 'grafana-annotations', awsCredentialsId: 'aws-lgtm'])
        Map deploy = h.shCalls.find { TestSupport.kind(h, it) == 'deploy' }
        assert deploy.env.AWS_SECRET_ACCESS_KEY == 'aws-secret' && deploy.env.LGTM_GRAFANA_TOKEN != null
        assertNoLeak(h, 'aws-secret')
        assertNoLeak(h, 'secret-of-grafana-annotations')
        h.cleanup()
    }

    void testWithoutGrafanaCredentialsNothingIsAnnotated() {
        PipelineHarness h = harness()
        h.step('lgtmDeploy', DEPLOY)
        assert h.callsOf('withCredentials').isEmpty()
        assert h.shCalls.every { it.env.LGTM_ANNOTATE == null && it.env.LGTM_GRAFANA_TOKEN == null && it.env.LGTM_LOG_LINES == null }
        h.cleanup()
    }

    void testLogLinesTravelInTheEnvironmentAndAreChecked() {
        PipelineHarness h = harness()
        h.step('lgtmDeploy', DEPLOY + [logLines: 5])
        assert h.shCalls.find { TestSupport.kind(h, it) == 'deploy' }.env.LGTM_LOG_LINES == '5'
        h.cleanup()
        PipelineHarness off = harness()
        off.step('lgtmDeploy', DEPLOY + [logLines: '0'])
        assert off.shCalls.find { TestSupport.kind(off, it) == 'deploy' }.env.LGTM_LOG_LINES == '0'
        off.cleanup()
        [201, -1, 'x', 2.5].each { Object bad ->
            PipelineHarness b = harness()
            PipelineHarness.PipelineError e = b.stepError('lgtmDeploy', DEPLOY + [logLines: bad])
            assert e.message.startsWith("lgtmDeploy: invalid logLines '${bad}': expected a whole number from 0 to 200")
            assert b.shCalls.isEmpty()
            b.cleanup()
        }
        PipelineHarness c = harness()
        assert c.stepError('lgtmDeploy', DEPLOY + [grafanaCredentialsId: 'bad id;']).message ==
            "lgtmDeploy: invalid grafanaCredentialsId 'bad id;': expected a Jenkins credentials ID (letters, digits, . _ @ -)"
        assert c.shCalls.isEmpty()
        c.cleanup()
    }

    /** The real deploy script in a real shell: --annotate and --log-lines arrive as arguments, the token does not. */
    void testDeployScriptPassesTheFlagsAsSeparateArguments() {
        PipelineHarness h = new PipelineHarness(TestSupport.REPO)
        h.resourceText = '// fake bundle\n'
        h.baseEnv.GIT_COMMIT = '0123456789abcdef0123456789abcdef01234567'
        h.realSh = true
        File calls = TestSupport.fakeNodeBin(h)
        h.step('lgtmDeploy', DEPLOY + [grafanaCredentialsId: 'grafana-annotations', logLines: 7])
        List<List<String>> argv = TestSupport.nodeCalls(calls)
        List<String> deploy = argv.find { it && it[0] == 'deploy' }
        assert deploy != null: argv.toString()
        assert deploy.contains('--annotate') && deploy.contains('--log-lines=7')
        argv.each { List<String> a -> assert !a.any { it.contains('secret-of-grafana-annotations') } }
        List<String> build = argv.find { it && it[0] == 'build' }
        assert !build.contains('--annotate') && !build.any { it.startsWith('--log-lines') }
        h.cleanup()
    }

    void testFailureEndsWithTheReportAndTheVerdictFromTheRecord() {
        PipelineHarness h = harness([deploy: 3], failedRecord())
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', DEPLOY)
        assert e.message.contains('failed and was rolled back (exit 3)')
        String verdict = 'loki 2.14.0 -> prod: rolled back - 2 task(s) of the new task definition failed (limit --max-failed-tasks 2)'
        assert h.currentBuild.description == verdict
        assert h.echoes[-1] == "lgtmDeploy: ${verdict}"
        assert h.echoes[-2] == [
            'lgtmDeploy: release report (lgtm-release-loki.json)',
            '  why: 2 task(s) of the new task definition failed (limit --max-failed-tasks 2)',
            '  task bbb222: Essential container in task exited (loki exit 1)',
            '    logs unavailable: AccessDeniedException on logs:GetLogEvents for /ecs/lgtm/loki - add it to the Jenkins role',
            '  task aaa111: Essential container in task exited (loki exit 1)',
            '    last 2 log line(s):',
            '      | level=info msg="Starting Loki"',
            '      | panic: invalid memberlist configuration',
        ].join('\n')
        h.cleanup()
    }

    static final Map ROLLBACK = [component: 'loki', environment: 'prod', reason: 'ingester OOM after 3.2.0']

    void testRollbackBindsTheGrafanaTokenAndPassesLogLines() {
        PipelineHarness h = harness()
        h.step('lgtmRollback', ROLLBACK + [grafanaCredentialsId: 'grafana-annotations', logLines: 4])
        assert h.callsOf('withCredentials')*.args == [[[type: 'string', credentialsId: 'grafana-annotations',
                                                        variable: 'LGTM_GRAFANA_TOKEN']]]
        Map rollback = h.shCalls.find { TestSupport.kind(h, it) == 'rollback' }
        assert rollback.inBinding && rollback.env.LGTM_GRAFANA_TOKEN == 'secret-of-grafana-annotations'
        assert rollback.env.LGTM_ANNOTATE == 'true' && rollback.env.LGTM_LOG_LINES == '4'
        assertNoLeak(h, 'secret-of-grafana-annotations')
        h.cleanup()
        PipelineHarness plain = harness()
        plain.step('lgtmRollback', ROLLBACK)
        assert plain.callsOf('withCredentials').isEmpty()
        assert plain.shCalls.every { it.env.LGTM_ANNOTATE == null && it.env.LGTM_LOG_LINES == null }
        plain.cleanup()
        PipelineHarness bad = harness()
        assert bad.stepError('lgtmRollback', ROLLBACK + [logLines: 201]).message.startsWith("lgtmRollback: invalid logLines '201'")
        assert bad.stepError('lgtmRollback', ROLLBACK + [grafanaCredentialsId: '$(id)']).message.startsWith(
            "lgtmRollback: invalid grafanaCredentialsId '\$(id)'")
        assert bad.shCalls.isEmpty()
        bad.cleanup()
    }

    /** The real rollback script in a real shell: --annotate and --log-lines arrive as arguments, the token does not. */
    void testRollbackScriptPassesTheFlagsAsSeparateArguments() {
        PipelineHarness h = new PipelineHarness(TestSupport.REPO)
        h.resourceText = '// fake bundle\n'
        h.realSh = true
        File calls = TestSupport.fakeNodeBin(h)
        h.step('lgtmRollback', ROLLBACK + [grafanaCredentialsId: 'grafana-annotations', logLines: 7])
        List<String> rollback = TestSupport.nodeCalls(calls).find { it && it[0] == 'rollback' }
        assert rollback != null
        assert rollback.contains('--annotate') && rollback.contains('--log-lines=7')
        assert !rollback.any { it.contains('secret-of-grafana-annotations') }
        h.cleanup()
    }

    void testFailedRollbackEndsWithTheReportAndTheVerdict() {
        Map rec = failedRecord() + [verdict: 'failed', exitCode: 4, failureReasons: ['2 task(s) of lgtm-loki:6 failed']]
        PipelineHarness h = harness([rollback: 4], rec)
        PipelineHarness.PipelineError e = h.stepError('lgtmRollback', ROLLBACK)
        assert e.message.contains('SERVICE NEEDS ATTENTION')
        String verdict = 'loki -> prod: NEEDS ATTENTION - 2 task(s) of lgtm-loki:6 failed'
        assert h.currentBuild.description == verdict
        // The report, then the verdict line (then failWithExitCode's SERVICE NEEDS ATTENTION message for exit 4).
        int at = h.echoes.indexOf("lgtmRollback: ${verdict}".toString())
        assert at > 0: h.echoes
        assert h.echoes[at - 1].startsWith('lgtmRollback: rollback report (lgtm-rollback-loki.json)\n  why: 2 task(s) of lgtm-loki:6 failed')
        assert h.echoes[at - 1].contains('      | panic: invalid memberlist configuration')
        h.cleanup()
    }

    void testTheReportIsBoundedAndPrintable() {
        Map rec = failedRecord()
        rec.failureReasons = ['x' * 1000]
        rec.stoppedTasks = (1..9).collect { int i ->
            [taskId: "t${i}", stoppedReason: "crash\u001b[31m ${i}", failed: true, containers: [[name: 'loki', exitCode: i]],
             logLines: (1..300).collect { "line ${it}\u0007" } + ['y' * 1000]]
        }
        PipelineHarness h = harness([deploy: 4], rec)
        h.stepError('lgtmDeploy', DEPLOY)
        String report = h.echoes.find { it.startsWith('lgtmDeploy: release report') }
        List lines = report.readLines()
        assert lines.count { it.startsWith('  task ') } == 5
        assert lines[2] == '  task t9: crash?[31m 9 (loki exit 9)'
        assert lines.every { it.length() <= 320 }
        assert !report.contains('\u001b') && !report.contains('\u0007')
        assert lines.count { it.startsWith('      | ') } == 5 * 200
        assert h.currentBuild.description.length() < 400
        h.cleanup()
    }

    void testMissingOrBrokenRecordStillFailsWithTheExitCodeMessage() {
        PipelineHarness none = harness([deploy: 5])
        none.shHandler = { Map call -> TestSupport.kind(none, call) == 'deploy' ? 5 : TestSupport.fakeHelper(none, [:]).call(call) }
        assert none.stepError('lgtmDeploy', DEPLOY).message.contains('precondition not met (exit 5)')
        assert none.currentBuild.description == 'loki 2.14.0 -> prod: precondition not met, nothing changed'
        none.cleanup()

        PipelineHarness broken = harness([deploy: 1])
        Closure base = broken.shHandler
        broken.shHandler = { Map call ->
            Object rc = base.call(call)
            if (TestSupport.kind(broken, call) == 'deploy') {
                new File(call.env.LGTM_RECORD).text = '{"verdict": "failed", "failureReasons": [1, null, {"a": 2}], "stoppedTasks": "nope"}'
            }
            return rc
        }
        assert broken.stepError('lgtmDeploy', DEPLOY).message.contains('unexpected error (exit 1)')
        assert broken.currentBuild.description == 'loki 2.14.0 -> prod: failed (exit 1)'
        broken.cleanup()

        PipelineHarness garbage = harness([deploy: 3])
        Closure base2 = garbage.shHandler
        garbage.shHandler = { Map call ->
            Object rc = base2.call(call)
            if (TestSupport.kind(garbage, call) == 'deploy') {
                new File(call.env.LGTM_RECORD).text = 'not json'
            }
            return rc
        }
        assert garbage.stepError('lgtmDeploy', DEPLOY).message.contains('(exit 3)')
        assert garbage.echoes.any { it.startsWith('lgtm: could not read the release record lgtm-release-loki.json') }
        garbage.cleanup()
    }

    void testSuccessDoesNotReadTheRecordAndEndsWithTheVerdict() {
        PipelineHarness h = harness([:], failedRecord())
        h.step('lgtmDeploy', DEPLOY)
        assert h.callsOf('readJSON').every { it.args.file != 'lgtm-release-loki.json' }
        assert h.currentBuild.description == 'loki 2.14.0 -> prod: released'
        assert h.echoes[-1] == 'lgtmDeploy: loki 2.14.0-0123456 is released to prod'
        h.cleanup()
    }

    void testPipelinePassesGrafanaAndLogLinesToTheDeployStageOnly() {
        PipelineHarness h = TestSupport.harness()
        h.baseEnv.BRANCH_NAME = 'main'
        h.step('lgtmPipeline', [component: 'loki', grafanaCredentialsId: 'graf', logLines: 3])
        Map build = PipelineHarness.findNodes(h.stageNode('Build'), 'lgtmDeploy')[0]
        Map deploy = PipelineHarness.findNodes(h.stageNode('Deploy'), 'lgtmDeploy')[0]
        assert deploy.args[0].grafanaCredentialsId == 'graf' && deploy.args[0].logLines == '3'
        assert !build.args[0].containsKey('grafanaCredentialsId') && !build.args[0].containsKey('logLines')
        h.cleanup()
        PipelineHarness bad = TestSupport.harness()
        assert bad.stepError('lgtmPipeline', [component: 'loki', logLines: 500]).message.startsWith("lgtmPipeline: invalid logLines '500'")
        assert bad.stepError('lgtmPipeline', [component: 'loki', grafanaCredentialsId: '$(id)']).message.startsWith(
            "lgtmPipeline: invalid grafanaCredentialsId '\$(id)'")
        bad.cleanup()
    }
}
