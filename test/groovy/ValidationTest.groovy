/** Parameters are checked against allow-lists and rejected with a clear error before any sh runs. */
class ValidationTest {

    PipelineHarness h

    void setUp() {
        h = TestSupport.harness()
    }

    void tearDown() {
        h.cleanup()
    }

    private String deployError(Map args) {
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', [component: 'mimir', environment: 'prod'] + args)
        assert e != null: "expected lgtmDeploy to reject ${args}"
        assert h.shCalls.isEmpty(): 'no sh may run before validation passed'
        assert h.callsOf('writeFile').isEmpty(): 'the bundle is not even written'
        return e.message
    }

    private String rollbackError(Map args) {
        PipelineHarness.PipelineError e = h.stepError('lgtmRollback',
            [component: 'mimir', environment: 'prod', reason: 'bad release'] + args)
        assert e != null: "expected lgtmRollback to reject ${args}"
        assert h.shCalls.isEmpty()
        return e.message
    }

    void testUnknownComponentIsRejected() {
        String m = deployError(component: 'mimirr')
        assert m == "lgtmDeploy: unknown component 'mimirr': expected one of mimir, loki, tempo, pyroscope, grafana, alloy"
    }

    void testMissingComponentAndEnvironmentAreNamed() {
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', [:])
        assert e.message == 'lgtmDeploy: missing required parameter(s): component, environment'
        assert h.shCalls.isEmpty()
    }

    void testUnknownParameterIsRejected() {
        String m = deployError(timout: '20m')
        assert m.startsWith('lgtmDeploy: unknown parameter(s): timout. Allowed: component, environment, timeout')
    }

    void testBadEnvironmentIsRejected() {
        ['Prod', 'prod/../x', '../prod', '', 'p' * 40, 'prod.json'].each { String bad ->
            h.shCalls.clear()
            String m = deployError(environment: bad)
            assert m.startsWith('lgtmDeploy: ') && m.contains('environment')
        }
        assert deployError(environment: 'prod!').contains("invalid environment 'prod!': expected an environment name")
    }

    void testBadDurationIsRejected() {
        ['20 minutes', '5x', '', '1m1h', '-5m', '20m; id'].each { String bad ->
            String m = deployError(timeout: bad)
            assert m.contains('invalid timeout') && m.contains('a duration like 90s, 20m, 1h or 1h30m')
        }
        assert deployError(bake: '2d').contains("invalid bake '2d'")
    }

    void testGoodDurationsPass() {
        ['90s', '20m', '1h', '1h30m', '1h2m3s'].each { String ok ->
            PipelineHarness harness = TestSupport.harness()
            assert harness.stepError('lgtmDeploy', [component: 'loki', environment: 'prod', timeout: ok]) == null
            harness.cleanup()
        }
    }

    void testNumbersAndFlagsAreChecked() {
        assert deployError(maxFailedTasks: -1).contains("invalid maxFailedTasks '-1'")
        assert deployError(maxFailedTasks: 'abc').contains('expected a whole number from 0 to 1000')
        assert deployError(maxFailedTasks: 1.5).contains("invalid maxFailedTasks '1.5'")
        assert deployError(rollback: 'yes') == "lgtmDeploy: rollback must be true or false, got 'yes'"
        assert deployError(dryRun: null) == 'lgtmDeploy: dryRun must be true or false, got null'
        assert deployError(build: false, deploy: false) == 'lgtmDeploy: build: false and deploy: false leaves nothing to do'
    }

    void testCredentialsChoiceIsExclusive() {
        String m = deployError(awsCredentialsId: 'aws-lgtm', roleArn: 'arn:aws:iam::123456789012:role/jenkins-lgtm')
        assert m == 'lgtmDeploy: give either awsCredentialsId or roleArn, not both'
        assert deployError(roleArn: 'arn:aws:iam::12:role/x').contains('invalid roleArn')
        assert deployError(region: 'Europe').contains("invalid region 'Europe'")
        assert deployError(endpointUrl: 'file:///etc/passwd').contains('invalid endpointUrl')
        assert deployError(platform: 'windows/amd64').contains('linux/amd64 or linux/arm64')
    }

    void testBadRollbackTargetIsRejected() {
        ['HEAD~1', 'previous; id', '$(id)', '', '-1',
         'arn:aws:ecs:eu-west-1:123456789012:task-definition/lgtm-loki:3'].each { String bad ->
            String m = rollbackError(to: bad)
            assert m.startsWith('lgtmRollback: ') && m.contains(' to ')
        }
        assert rollbackError(to: 'HEAD~1') == "lgtmRollback: invalid to 'HEAD~1': expected previous, a revision number, " +
            'a task definition ARN of lgtm-mimir, or a version/tag like 2.14.0'
    }

    void testGoodRollbackTargetsPass() {
        ['previous', '12', 'arn:aws:ecs:eu-west-1:123456789012:task-definition/lgtm-mimir:12', '2.14.0',
         '2.14.0-0123456', 'v2.14.0'].each { String ok ->
            PipelineHarness harness = TestSupport.harness()
            assert harness.stepError('lgtmRollback', [component: 'mimir', environment: 'prod', to: ok, reason: 'bad release']) == null
            assert harness.shCalls.last().env.LGTM_TO == ok
            harness.cleanup()
        }
    }

    void testRollbackReasonIsRequired() {
        PipelineHarness.PipelineError e = h.stepError('lgtmRollback', [component: 'mimir', environment: 'prod'])
        assert e.message == 'lgtmRollback: missing required parameter(s): reason'
        assert rollbackError(reason: 'x').contains('reason is required')
        assert rollbackError(reason: 'line one\nline two').contains('invalid reason')
        assert rollbackError(reason: 'r' * 501).contains('invalid reason')
        assert h.shCalls.isEmpty()
    }

    void testPipelineParametersAreChecked() {
        Map cases = [
            [component: 'nope']                                   : "lgtmPipeline: unknown component 'nope'",
            [component: 'loki', branches: [:]]                    : 'lgtmPipeline: branches must be a non-empty map',
            [component: 'loki', branches: [main: 'Prod']]         : "lgtmPipeline: invalid environment 'Prod'",
            [component: 'loki', branches: ['ma in': 'prod']]      : "lgtmPipeline: invalid branches key 'ma in'",
            [component: 'loki', approvalEnvironments: 'prod']     : 'lgtmPipeline: approvalEnvironments must be a list',
            [component: 'loki', deployTimeout: '20 m']            : "lgtmPipeline: invalid deployTimeout '20 m'",
            [component: 'loki', timeoutMinutes: 0]                : "lgtmPipeline: invalid timeoutMinutes '0'",
            [component: 'loki', deplyTimeout: '20m']              : 'lgtmPipeline: unknown parameter(s): deplyTimeout',
        ]
        cases.each { Map args, String expected ->
            PipelineHarness.PipelineError e = h.stepError('lgtmPipeline', args)
            assert e != null && e.message.startsWith(expected)
        }
        assert h.pipelineModel == null
    }
}
