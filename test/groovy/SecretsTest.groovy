/** Secrets appear only inside credential bindings: never in sh text, echo output, messages or descriptions. */
class SecretsTest {

    static final String SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    static final String ACCESS = 'AKIAIOSFODNN7EXAMPLE'

    private PipelineHarness harness(Map codes = [:]) {
        PipelineHarness h = TestSupport.harness(codes)
        h.awsCredentials['aws-lgtm-prod'] = [accessKey: ACCESS, secretKey: SECRET]
        return h
    }

    private void assertNoLeak(PipelineHarness h, String secret) {
        h.shCalls.each { assert !it.script.contains(secret) && !(it.label ?: '').contains(secret) }
        h.echoes.each { assert !it.contains(secret) }
        assert !(h.currentBuild.description ?: '').contains(secret)
        h.callsOf('withEnv').each { assert !it.args.any { String kv -> kv.contains(secret) } }
        h.callsOf('error').each { assert !it.args.contains(secret) }
    }

    void testAwsCredentialsAreBoundNotInterpolated() {
        PipelineHarness h = harness()
        h.step('lgtmDeploy', [component: 'grafana', environment: 'prod', awsCredentialsId: 'aws-lgtm-prod'])
        assertNoLeak(h, SECRET)
        List bindings = h.callsOf('withCredentials')*.args
        assert bindings.size() == 3
        bindings.each {
            assert it == [[$class: 'AmazonWebServicesCredentialsBinding', credentialsId: 'aws-lgtm-prod',
                           accessKeyVariable: 'AWS_ACCESS_KEY_ID', secretKeyVariable: 'AWS_SECRET_ACCESS_KEY']]
        }
        Map byKind = h.shCalls.collectEntries { [(TestSupport.kind(h, it)): it] }
        ['tag', 'build', 'deploy'].each { String k ->
            assert byKind[k].inBinding
            assert byKind[k].env.AWS_SECRET_ACCESS_KEY == SECRET
            assert byKind[k].env.AWS_ACCESS_KEY_ID == ACCESS
        }
        assert !byKind.node.inBinding && byKind.node.env.AWS_SECRET_ACCESS_KEY == null
        h.cleanup()
    }

    void testSecretsDoNotLeakWhenTheReleaseFails() {
        [3, 4, 1].each { int code ->
            PipelineHarness h = harness([deploy: code])
            assert h.stepError('lgtmDeploy', [component: 'grafana', environment: 'prod', awsCredentialsId: 'aws-lgtm-prod']) != null
            assertNoLeak(h, SECRET)
            h.cleanup()
        }
    }

    void testRoleArnUsesWithAws() {
        PipelineHarness h = harness()
        String role = 'arn:aws:iam::123456789012:role/jenkins-lgtm-deploy'
        h.step('lgtmRollback', [component: 'alloy', environment: 'prod', reason: 'alloy crash loop', roleArn: role,
                                region: 'eu-west-1'])
        assert h.callsOf('withAWS')*.args == [[role: role, region: 'eu-west-1']]
        assert h.callsOf('withCredentials').isEmpty()
        Map rb = h.shCalls.last()
        assert rb.inBinding && rb.env.AWS_SESSION_TOKEN == 'role-session-token'
        assertNoLeak(h, 'role-session-secret')
        assertNoLeak(h, 'role-session-token')
        h.cleanup()
    }

    void testNoCredentialsMeansTheAgentsOwn() {
        PipelineHarness h = harness()
        h.step('lgtmDeploy', [component: 'tempo', environment: 'prod'])
        assert h.callsOf('withCredentials').isEmpty() && h.callsOf('withAWS').isEmpty()
        assert h.shCalls.every { !it.inBinding }
        h.cleanup()
    }

    void testMissingCredentialsIdFailsInTheBinding() {
        PipelineHarness h = harness()
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', [component: 'tempo', environment: 'prod', awsCredentialsId: 'nope'])
        assert e.message == "Could not find credentials entry with ID 'nope'"
        assert TestSupport.helperKinds(h) == ['node']
        h.cleanup()
    }
}
