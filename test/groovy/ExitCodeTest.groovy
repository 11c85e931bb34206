/** Each helper exit code maps to the documented build result, description and message. */
class ExitCodeTest {

    static final Map DEPLOY = [component: 'mimir', environment: 'prod']

    private Map runDeploy(Map codes, Map args = [:]) {
        PipelineHarness h = TestSupport.harness(codes)
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', DEPLOY + args)
        Map r = [h: h, error: e?.message, result: h.currentBuild.result, description: h.currentBuild.description,
                 kinds: TestSupport.helperKinds(h)]
        h.cleanup()
        return r
    }

    void testExit0IsSuccess() {
        Map r = runDeploy([:])
        assert r.error == null
        assert r.result == null // untouched: SUCCESS
        assert r.description == 'mimir 2.14.0 -> prod: released'
        assert r.kinds == ['node', 'tag', 'build', 'deploy']
        assert r.h.archived == [[artifacts: 'lgtm-release-mimir.json,lgtm-events-mimir.jsonl', allowEmptyArchive: true, fingerprint: true]]
        assert r.h.echoes.contains('lgtmDeploy: mimir 2.14.0-0123456 is released to prod')
    }

    void testExit0ReturnsTheRelease() {
        PipelineHarness h = TestSupport.harness()
        Map result = h.step('lgtmDeploy', DEPLOY)
        assert result == [component: 'mimir', environment: 'prod', version: '2.14.0', tag: '2.14.0-0123456',
                          record: 'lgtm-release-mimir.json', events: 'lgtm-events-mimir.jsonl', exitCode: 0, verdict: 'released']
        h.cleanup()
    }

    void testExit3IsFailureWithOldVersionServing() {
        Map r = runDeploy([deploy: 3])
        assert r.result == 'FAILURE'
        assert r.error == 'lgtmDeploy: release of mimir 2.14.0-0123456 to prod failed and was rolled back (exit 3). ' +
            'The old version is serving.'
        assert r.description == 'mimir 2.14.0 -> prod: rolled back'
        assert r.h.archived.size() == 1 // the release record is archived before the build fails
    }

    void testExit4IsFailureThatNeedsAttention() {
        Map r = runDeploy([deploy: 4])
        assert r.result == 'FAILURE'
        assert r.error.startsWith('lgtmDeploy: SERVICE NEEDS ATTENTION: release of mimir 2.14.0-0123456 to prod failed ' +
            'and the rollback failed or was impossible (exit 4).')
        assert r.description == 'mimir 2.14.0 -> prod: NEEDS ATTENTION'
        assert r.h.echoes.count { it == '!' * 100 } == 2
        assert r.h.archived.size() == 1
    }

    void testExit2And5FailBeforeAnythingChanged() {
        Map r2 = runDeploy([deploy: 2])
        assert r2.result == 'FAILURE'
        assert r2.error == 'lgtmDeploy: release of mimir 2.14.0-0123456 to prod: invalid input or configuration (exit 2). ' +
            'Nothing was changed.'
        assert r2.description == 'mimir 2.14.0 -> prod: rejected, nothing changed'
        Map r5 = runDeploy([deploy: 5])
        assert r5.error == 'lgtmDeploy: release of mimir 2.14.0-0123456 to prod: precondition not met (exit 5). ' +
            'Nothing was changed.'
        assert r5.description == 'mimir 2.14.0 -> prod: precondition not met, nothing changed'
    }

    void testExit1IsUnexpectedFailure() {
        Map r = runDeploy([deploy: 1])
        assert r.result == 'FAILURE'
        assert r.error == 'lgtmDeploy: release of mimir 2.14.0-0123456 to prod: unexpected error (exit 1). ' +
            'See the helper output above.'
        Map killed = runDeploy([deploy: 143])
        assert killed.error.contains('exit 143 (interrupted or killed)')
    }

    void testTagFailureStopsBeforeBuildAndDeploy() {
        Map r = runDeploy([tag: 2])
        assert r.kinds == ['node', 'tag']
        assert r.error == 'lgtmDeploy: computing the image tag for mimir to prod: invalid input or configuration (exit 2). ' +
            'Nothing was changed.'
        assert r.h.archived.isEmpty()
    }

    void testBuildFailureStopsBeforeDeploy() {
        Map r = runDeploy([build: 5])
        assert r.kinds == ['node', 'tag', 'build']
        assert r.error.contains('building mimir 2.14.0-0123456 for prod: precondition not met (exit 5). Nothing was changed.')
    }

    void testBuildOnlySkipsDeploy() {
        Map r = runDeploy([:], [deploy: false, push: false])
        assert r.kinds == ['node', 'tag', 'build']
        assert r.h.shCalls[2].env.LGTM_PUSH == 'false'
        assert r.description == 'mimir 2.14.0 (2.14.0-0123456): built'
    }

    void testMissingOrOldNodeIsAClearError() {
        Map r = runDeploy([node: 127])
        assert r.error.startsWith('lgtmDeploy: node was not found on this agent. The lgtm-deploy helper needs Node.js >= 20')
        assert r.kinds == ['node']
        Map old = runDeploy([node: 3])
        assert old.error.contains('needs Node.js >= 20')
    }

    void testBundleIsWrittenToTheWorkspaceTempDir() {
        PipelineHarness h = TestSupport.harness()
        h.step('lgtmDeploy', DEPLOY)
        assert h.callsOf('libraryResource')*.args == ['lgtm/lgtm-deploy.mjs']
        Map w = h.callsOf('writeFile')[0].args
        assert w.file == "${h.tmpDir.path}/lgtm-deploy.mjs"
        assert w.encoding == 'UTF-8'
        assert h.shCalls.every { it.env.LGTM_BUNDLE == null || it.env.LGTM_BUNDLE == w.file }
        h.cleanup()
    }

    void testRollbackExitCodes() {
        Map expected = [
            0: [null, 'mimir -> prod: rolled back to previous'],
            2: ['lgtmRollback: rollback of mimir in prod to previous: invalid input or configuration (exit 2). Nothing was changed.',
                'mimir -> prod: rejected, nothing changed'],
            4: ['lgtmRollback: SERVICE NEEDS ATTENTION: rollback of mimir in prod to previous failed',
                'mimir -> prod: NEEDS ATTENTION'],
            5: ['lgtmRollback: rollback of mimir in prod to previous: precondition not met (exit 5). Nothing was changed.',
                'mimir -> prod: precondition not met, nothing changed'],
            1: ['lgtmRollback: rollback of mimir in prod to previous: unexpected error (exit 1).', 'mimir -> prod: failed (exit 1)'],
        ]
        expected.each { int code, List want ->
            PipelineHarness h = TestSupport.harness([rollback: code])
            PipelineHarness.PipelineError e = h.stepError('lgtmRollback', [component: 'mimir', environment: 'prod', reason: 'bad 2.15'])
            if (want[0] == null) {
                assert e == null && h.currentBuild.result == null
            } else {
                assert e.message.startsWith(want[0])
                assert h.currentBuild.result == 'FAILURE'
            }
            assert h.currentBuild.description == want[1]
            assert h.archived == [[artifacts: 'lgtm-rollback-mimir.json,lgtm-rollback-events-mimir.jsonl', allowEmptyArchive: true,
                                   fingerprint: true]]
            assert h.shCalls.last().env.LGTM_REASON == 'bad 2.15'
            h.cleanup()
        }
    }
}
