/** lgtmPipeline declares the documented model: stages, when conditions, lock, timeout, branch mapping. */
class PipelineTest {

    private PipelineHarness run(String branch, Map args) {
        PipelineHarness h = TestSupport.harness()
        h.baseEnv.BRANCH_NAME = branch
        h.step('lgtmPipeline', args)
        assert h.pipelineModel != null
        assert h.shCalls.isEmpty(): 'declaring the pipeline runs no sh'
        return h
    }

    private static Map child(Map node, String name) {
        return node.children.find { it.name == name }
    }

    private static List<String> names(Map node) {
        return node.children*.name
    }

    /** Evaluates the expression { } of a stage's when block. */
    private static Object expressionOf(Map stage) {
        Map expr = PipelineHarness.findNodes(child(stage, 'when'), 'expression')[0]
        return expr.closure.call()
    }

    void testDeclaresAgentOptionsAndStages() {
        PipelineHarness h = run('main', [component: 'mimir'])
        Map p = h.pipelineModel
        assert names(p) == ['agent', 'options', 'stages']
        assert child(child(p, 'agent'), 'label').args == ['']
        Map options = child(p, 'options')
        assert names(options) == ['timestamps', 'timeout', 'disableConcurrentBuilds', 'buildDiscarder']
        // mimir without approval: build 30 + release 76 + its rollback 76 (the helper's defaults, vars/lgtmInternal.groovy)
        assert child(options, 'timeout').args == [[time: 182, unit: 'MINUTES']]
        assert PipelineHarness.findNodes(child(p, 'stages'), 'stage')*.args*.getAt(0) == ['Build', 'Approve', 'Deploy']
        h.cleanup()
    }

    void testBuildStageBuildsWithoutPushOrDeploy() {
        PipelineHarness h = run('feature/x', [component: 'loki'])
        Map build = h.stageNode('Build')
        assert build.children.find { it.name == 'when' } == null: 'Build runs on every branch and pull request'
        Map call = PipelineHarness.findNodes(build, 'lgtmDeploy')[0]
        assert call.args[0].component == 'loki'
        assert call.args[0].environment == 'prod'
        assert call.args[0].push == false && call.args[0].deploy == false
        h.cleanup()
    }

    void testDeployStageIsGuardedAndLocked() {
        PipelineHarness h = run('main', [component: 'tempo', awsCredentialsId: 'aws-lgtm'])
        Map deploy = h.stageNode('Deploy')
        Map allOf = child(child(deploy, 'when'), 'allOf')
        assert names(allOf) == ['not', 'expression', 'anyOf']
        assert names(child(allOf, 'not')) == ['changeRequest']
        Map anyOf = child(allOf, 'anyOf')
        assert anyOf.children.findAll { it.name == 'changeset' }*.args*.getAt(0)*.toString() ==
            ['dockerfiles/tempo/**', 'taskdefs/tempo*.json', 'environments/**']
        assert child(anyOf, 'triggeredBy').args == ['UserIdCause']
        assert expressionOf(deploy) == true
        Map lock = PipelineHarness.findNodes(deploy, 'lock')[0]
        assert lock.args == [[resource: 'lgtm-prod-tempo']]
        Map call = PipelineHarness.findNodes(lock, 'lgtmDeploy')[0]
        assert call.args[0] == [environment: 'prod', timeout: null, component: 'tempo', rollback: true, maxFailedTasks: null,
                                atomic: false, awsCredentialsId: 'aws-lgtm', roleArn: null, region: null, dryRun: false]
        h.cleanup()
    }

    void testOtherBranchesOnlyBuild() {
        PipelineHarness h = run('feature/new-dashboards', [component: 'grafana'])
        assert expressionOf(h.stageNode('Deploy')) == false
        assert expressionOf(h.stageNode('Approve')) == false
        h.cleanup()
    }

    void testPullRequestsNeverDeploy() {
        PipelineHarness h = run('PR-12', [component: 'alloy', branches: ['PR-12': 'prod']])
        // even when mapped, the when block requires not { changeRequest() }
        Map allOf = child(child(h.stageNode('Deploy'), 'when'), 'allOf')
        assert names(child(allOf, 'not')) == ['changeRequest']
        h.cleanup()
    }

    void testBranchMapIsConfigurable() {
        PipelineHarness h = run('develop', [component: 'pyroscope', branches: [main: 'prod', develop: 'staging'],
                                            deployTimeout: '45m', timeoutMinutes: 120])
        Map deploy = h.stageNode('Deploy')
        assert expressionOf(deploy) == true
        assert PipelineHarness.findNodes(deploy, 'lock')[0].args == [[resource: 'lgtm-staging-pyroscope']]
        Map call = PipelineHarness.findNodes(deploy, 'lgtmDeploy')[0]
        assert call.args[0].environment == 'staging' && call.args[0].timeout == '45m'
        assert child(child(h.pipelineModel, 'options'), 'timeout').args == [[time: 120, unit: 'MINUTES']]
        assert PipelineHarness.findNodes(h.stageNode('Build'), 'lgtmDeploy')[0].args[0].environment == 'staging'
        h.cleanup()
    }

    void testBuildTimeoutCoversBuildApprovalReleaseAndRollback() {
        PipelineHarness tempo = run('main', [component: 'tempo'])
        assert child(child(tempo.pipelineModel, 'options'), 'timeout').args == [[time: 90, unit: 'MINUTES']]: 'never under 90'
        tempo.cleanup()
        PipelineHarness approved = run('main', [component: 'mimir', approvalEnvironments: ['prod'], approvalTimeoutMinutes: 60])
        assert child(child(approved.pipelineModel, 'options'), 'timeout').args == [[time: 242, unit: 'MINUTES']]
        approved.cleanup()
        PipelineHarness own = run('main', [component: 'loki', deployTimeout: '1h', timeoutMinutes: 200])
        assert child(child(own.pipelineModel, 'options'), 'timeout').args == [[time: 200, unit: 'MINUTES']]
        own.cleanup()
        PipelineHarness h = TestSupport.harness()
        h.baseEnv.BRANCH_NAME = 'main'
        PipelineHarness.PipelineError e = h.stepError('lgtmPipeline', [component: 'mimir', timeoutMinutes: 90])
        assert e != null
        assert e.message.startsWith('lgtmPipeline: timeoutMinutes 90 is shorter than the build may need: ' +
            'build 30 + release 76 + its rollback 76 (at least 90) = 182 minutes'): e.message
        e = h.stepError('lgtmPipeline', [component: 'loki', deployTimeout: '1h30m', timeoutMinutes: 150])
        assert e != null && e.message.contains('release 90 + its rollback 33'): e.message
        assert h.pipelineModel == null
    }

    void testApprovalBeforeProdIsOptional() {
        PipelineHarness none = run('main', [component: 'mimir'])
        assert expressionOf(none.stageNode('Approve')) == false
        none.cleanup()
        PipelineHarness h = run('main', [component: 'mimir', approvalEnvironments: ['prod'], approvers: 'lgtm-admins',
                                         approvalTimeoutMinutes: 30])
        Map approve = h.stageNode('Approve')
        assert expressionOf(approve) == true
        assert names(child(child(approve, 'when'), 'allOf')) == ['not', 'expression', 'anyOf']
        Map timeout = PipelineHarness.findNodes(approve, 'timeout')[0]
        assert timeout.args == [[time: 30, unit: 'MINUTES']]
        Map input = PipelineHarness.findNodes(timeout, 'input')[0]
        assert input.args[0] == [message: 'Deploy mimir to prod?', ok: 'Deploy', submitter: 'lgtm-admins']
        h.cleanup()
    }

    void testComponentJenkinsfilesAreOneLine() {
        TestSupport.REPO.with { File repo ->
            ['mimir', 'loki', 'tempo', 'pyroscope', 'grafana', 'alloy'].each { String c ->
                File f = new File(repo, "dockerfiles/${c}/Jenkinsfile")
                assert f.text == "@Library('lgtm') _\n\nlgtmPipeline(component: '${c}')\n"
            }
        }
    }

    /** jobs/rollback.Jenkinsfile: parameters and the lgtmRollback call (run through the DSL recorder). */
    void testRollbackJobCallsLgtmRollback() {
        PipelineHarness h = TestSupport.harness()
        h.binding.setVariable('params', [COMPONENT: 'loki', ENVIRONMENT: 'prod', TARGET: 'previous', REASON: 'oom',
                                         AWS_CREDENTIALS_ID: 'aws-lgtm-deploy'])
        String text = new File(TestSupport.REPO, 'jobs/rollback.Jenkinsfile').text.replace("@Library('lgtm') _", '')
        Script s = new GroovyShell(h.binding).parse(text)
        s.run()
        Map p = h.pipelineModel
        Map parameters = child(p, 'parameters')
        assert parameters.children*.name == ['choice', 'choice', 'string', 'text', 'string']
        assert parameters.children[0].args[0].choices == h.scripts.lgtmInternal.components()
        List envFiles = new File(TestSupport.REPO, 'environments').list().findAll { it.endsWith('.json') }
            .collect { it - '.json' }.sort()
        assert parameters.children[1].args[0].choices.sort() == envFiles
        Map lock = PipelineHarness.findNodes(p, 'lock')[0]
        assert lock.args[0].resource.toString() == 'lgtm-prod-loki'
        Map call = PipelineHarness.findNodes(lock, 'lgtmRollback')[0]
        assert call.args[0] == [component: 'loki', environment: 'prod', to: 'previous', reason: 'oom',
                                awsCredentialsId: 'aws-lgtm-deploy']
        h.cleanup()
    }

    /** jobs/seed.groovy: six multibranch jobs with their script paths and the rollback job. */
    void testSeedCreatesTheJobs() {
        Map root = [name: 'seed', args: [], children: [], closure: null]
        DslRecorder recorder = new DslRecorder(root)
        Binding b = new Binding()
        ['folder', 'multibranchPipelineJob', 'pipelineJob'].each { String n ->
            b.setVariable(n) { Object... a -> recorder.methodMissing(n, a) }
        }
        new GroovyShell(b).parse(new File(TestSupport.REPO, 'jobs/seed.groovy')).run()
        List jobs = root.children.findAll { it.name == 'multibranchPipelineJob' }
        assert jobs*.args*.getAt(0)*.toString() == ['mimir', 'loki', 'tempo', 'pyroscope', 'grafana', 'alloy'].collect { "lgtm/${it}" }
        jobs.each { Map j ->
            String c = j.args[0].toString() - 'lgtm/'
            assert PipelineHarness.findNodes(j, 'scriptPath')[0].args[0].toString() == "dockerfiles/${c}/Jenkinsfile"
        }
        Map rollback = root.children.find { it.name == 'pipelineJob' }
        assert rollback.args == ['lgtm/rollback']
        assert PipelineHarness.findNodes(rollback, 'scriptPath')[0].args == ['jobs/rollback.Jenkinsfile']
        assert root.children[0].name == 'folder'
    }
}
