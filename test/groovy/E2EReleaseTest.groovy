import groovy.json.JsonOutput
import groovy.json.JsonSlurper

/**
 * END-TO-END: the steps run the real bundled helper (resources/lgtm/lgtm-deploy.mjs) through a real shell against the
 * helper's local ECS/ECR emulator and the `local` environment:
 *   1. a successful release of mimir (lgtmDeploy, exit 0 -> SUCCESS, record archived),
 *   2. a release whose image crashes: the helper rolls back (exit 3 -> FAILURE "old version is serving"); the console
 *      report shows the crashed container's last log lines,
 *   3. another good release, then lgtmRollback to the first release's tag (exit 0).
 * Skipped by run.sh when LGTM_E2E=0.
 *
 * Expects from the helper: `emulator --port 0 --scenario <file>` printing "lgtm-deploy emulator listening on
 * http://127.0.0.1:PORT" as its first stdout line; scenario images keyed by tag; ECR CreateRepository/PutImage on the
 * emulator (used to seed the images, so `build` finds the tag and skips the docker build); ECS CreateCluster (the test
 * creates the `lgtm` cluster, which is infrastructure, not the helper's job); `deploy --create-missing`
 * creating the lgtm-mimir service in the emulator; exit codes 0 and 3 as documented.
 */
class E2EReleaseTest {

    static final File REPO = TestSupport.REPO
    static final File BUNDLE = new File(REPO, 'resources/lgtm/lgtm-deploy.mjs')
    static final String GOOD_SHA = 'a' * 40
    static final String BAD_SHA = 'b' * 40
    static final String NEXT_SHA = 'c' * 40

    Process emulator
    String url
    File work = File.createTempDir('lgtm-e2e', '')

    void tearDown() {
        emulator?.destroy()
        emulator?.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)
        emulator?.destroyForcibly()
        work.deleteDir()
    }

    /** Runs the bundle directly (test setup only; the steps under test go through the harness). */
    private Map bundle(List<String> args) {
        ProcessBuilder pb = new ProcessBuilder(['node', BUNDLE.path] + args)
        pb.environment().put('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true')
        Process p = pb.start()
        String out = p.inputStream.getText('UTF-8')
        String err = p.errorStream.getText('UTF-8')
        p.waitFor()
        return [status: p.exitValue(), out: out, err: err]
    }

    private String tagFor(String sha) {
        Map r = bundle(['tag', 'mimir', "--sha=${sha}".toString(), '--branch=main', '--build=1', "--root=${REPO.path}".toString(), '--json'])
        assert r.status == 0: "helper `tag` failed: ${r.err}"
        return new JsonSlurper().parseText(r.out).tag
    }

    private void startEmulator(String badTag) {
        File scenario = new File(work, 'scenario.json')
        scenario.text = new File(REPO, 'test/groovy/fixtures/e2e-scenario.template.json').text
            .replace('@BAD_TAG@', badTag).replace('@BAD_DIGEST@', digestOf(manifestFor(badTag)))
        ProcessBuilder pb = new ProcessBuilder('node', BUNDLE.path, 'emulator', '--port', '0', '--scenario', scenario.path)
        pb.redirectErrorStream(true)
        emulator = pb.start()
        BufferedReader reader = new BufferedReader(new InputStreamReader(emulator.inputStream, 'UTF-8'))
        String first = null
        Thread t = Thread.start { first = reader.readLine() }
        t.join(15000)
        assert first != null: 'the emulator printed nothing within 15 s (does the helper have the `emulator` command yet?)'
        def m = first =~ /^lgtm-deploy emulator listening on (http:\/\/127\.0\.0\.1:\d+)/
        assert m.find(): "unexpected first emulator line: ${first}"
        url = m.group(1)
        Thread.start { try { reader.eachLine { } } catch (IOException ignored) { } }
    }

    /** A distinct image manifest per tag (the helper deploys by digest, so each image needs its own digest). */
    private static String manifestFor(String tag) {
        String configDigest = 'sha256:' + java.security.MessageDigest.getInstance('SHA-256').digest(tag.getBytes('UTF-8'))
            .collect { String.format('%02x', it) }.join()
        return JsonOutput.toJson([schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
                                  config: [mediaType: 'application/vnd.docker.container.image.v1+json', size: 2,
                                           digest: configDigest], layers: []])
    }

    /** The digest ECR gives a manifest: sha256 of its bytes. */
    private static String digestOf(String manifest) {
        return 'sha256:' + java.security.MessageDigest.getInstance('SHA-256').digest(manifest.getBytes('UTF-8'))
            .collect { String.format('%02x', it) }.join()
    }

    /** Seeds ECR in the emulator with the image, so `build` finds the tag and skips the docker build. */
    private void seedImage(String tag) {
        ecr('CreateRepository', [repositoryName: 'lgtm-mimir'], true)
        ecr('PutImage', [repositoryName: 'lgtm-mimir', imageTag: tag, imageManifest: manifestFor(tag)], false)
    }

    private void ecr(String op, Map body, boolean mayExist) {
        awsCall('AmazonEC2ContainerRegistry_V20150921', 'ecr', op, body, mayExist ? 'RepositoryAlreadyExists' : null)
    }

    /** The cluster is infrastructure (not created by the helper): create it in the emulator. */
    private void createCluster() {
        awsCall('AmazonEC2ContainerServiceV20141113', 'ecs', 'CreateCluster', [clusterName: 'lgtm'], null)
    }

    private void awsCall(String prefix, String service, String op, Map body, String tolerated) {
        HttpURLConnection c = (HttpURLConnection) new URL(url + '/').openConnection()
        c.requestMethod = 'POST'
        c.doOutput = true
        c.setRequestProperty('content-type', 'application/x-amz-json-1.1')
        c.setRequestProperty('x-amz-target', "${prefix}.${op}")
        c.setRequestProperty('authorization', "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/${service}/aws4_request")
        c.outputStream.withWriter('UTF-8') { it << JsonOutput.toJson(body) }
        int code = c.responseCode
        String text = (code < 400 ? c.inputStream : c.errorStream)?.getText('UTF-8')
        assert code == 200 || (tolerated && text?.contains(tolerated)): "emulator ${service} ${op}: HTTP ${code} ${text}"
    }

    private PipelineHarness harness() {
        PipelineHarness h = new PipelineHarness(REPO)
        h.realSh = true
        h.realShTimeoutMs = 240000
        h.baseEnv.clear()
        h.baseEnv.putAll([PATH: System.getenv('PATH'), HOME: System.getenv('HOME') ?: '/tmp', BRANCH_NAME: 'main',
                          BUILD_NUMBER: '1', AWS_ENDPOINT_URL: url, AWS_EC2_METADATA_DISABLED: 'true',
                          AWS_MAX_ATTEMPTS: '5', NO_COLOR: '1'])
        h.awsCredentials['e2e-aws'] = [accessKey: 'test', secretKey: 'test-secret-e2e']
        return h
    }

    private Map release(String sha, boolean createMissing) {
        PipelineHarness h = harness()
        Map args = [component: 'mimir', environment: 'local', sha: sha, root: REPO.path, endpointUrl: url,
                    region: 'us-east-1', awsCredentialsId: 'e2e-aws', timeout: '3m', createMissing: createMissing, pollInterval: '1s', bake: '2s']
        PipelineHarness.PipelineError e = h.stepError('lgtmDeploy', args)
        return [h: h, error: e?.message]
    }

    private static String explain(PipelineHarness h) {
        return h.log.toString().readLines().takeRight(60).join('\n')
    }

    void testReleaseRollbackAndManualRollbackAgainstTheEmulator() {
        assert BUNDLE.isFile(): 'resources/lgtm/lgtm-deploy.mjs is missing (npm run build)'
        String goodTag = tagFor(GOOD_SHA)
        String badTag = tagFor(BAD_SHA)
        String nextTag = tagFor(NEXT_SHA)
        startEmulator(badTag)
        createCluster()
        [goodTag, badTag, nextTag].each { seedImage(it) }

        // 1. a successful release
        Map ok = release(GOOD_SHA, true)
        PipelineHarness h1 = ok.h
        assert ok.error == null: "release 1 failed: ${ok.error}\n${explain(h1)}"
        assert h1.currentBuild.result == null
        assert h1.currentBuild.description ==~ /mimir \S+ -> local: released/
        File record1 = new File(h1.workspace, 'lgtm-release-mimir.json')
        assert record1.isFile(): 'the helper wrote no release record'
        new JsonSlurper().parse(record1)
        assert h1.archived*.artifacts == ['lgtm-release-mimir.json,lgtm-events-mimir.jsonl']
        // The progress events as JSON lines, next to the record: the release's own "released" among them.
        List events = new File(h1.workspace, 'lgtm-events-mimir.jsonl').readLines().collect { new JsonSlurper().parseText(it) }
        assert events.any { it.component == 'mimir' && it.kind == 'released' }
        assert h1.shCalls.every { !it.script.contains('test-secret-e2e') }
        h1.cleanup()

        // 2. a release whose image crashes: rolled back automatically, the old version serves
        Map bad = release(BAD_SHA, false)
        PipelineHarness h2 = bad.h
        assert bad.error == "lgtmDeploy: release of mimir ${badTag} to local failed and was rolled back (exit 3). " +
            'The old version is serving.': explain(h2)
        assert h2.currentBuild.result == 'FAILURE'
        File record2 = new File(h2.workspace, 'lgtm-release-mimir.json')
        assert record2.isFile()
        // The description and the console end with the verdict and the report, read from the helper's own record.
        Map rec2 = new JsonSlurper().parse(record2)
        assert h2.currentBuild.description == "mimir ${rec2.version} -> local: rolled back - ${rec2.failureReasons[0]}"
        String report2 = h2.echoes.find { it.startsWith('lgtmDeploy: release report') }
        assert report2 != null: explain(h2)
        rec2.failureReasons.each { assert report2.contains("  why: ${it}") }
        rec2.stoppedTasks.findAll { it.failed }.take(5).each { assert report2.contains("  task ${it.taskId}: ") }
        // The crashed container's own output, read by the helper from its awslogs stream after the rollback call.
        assert rec2.stoppedTasks.any { it.failed && it.logLines == ['level=error msg="e2e: mimir cannot start"', 'panic: e2e mimir crashed'] }: rec2.stoppedTasks
        assert report2.contains('    last 2 log line(s):\n      | level=error msg="e2e: mimir cannot start"\n      | panic: e2e mimir crashed'): report2
        assert h2.echoes.last() == "lgtmDeploy: ${h2.currentBuild.description}"
        h2.cleanup()

        // 3. another good release, then a manual rollback to the first release's tag
        Map next = release(NEXT_SHA, false)
        assert next.error == null: "release 3 failed: ${next.error}\n${explain(next.h)}"
        next.h.cleanup()
        PipelineHarness h4 = harness()
        PipelineHarness.PipelineError e = h4.stepError('lgtmRollback', [component: 'mimir', environment: 'local', to: goodTag,
            reason: 'e2e: back to the first release', root: REPO.path, endpointUrl: url, region: 'us-east-1',
            awsCredentialsId: 'e2e-aws', timeout: '3m', pollInterval: '1s', bake: '2s'])
        assert e == null: "rollback failed: ${e?.message}\n${explain(h4)}"
        assert h4.currentBuild.description == "mimir -> local: rolled back to ${goodTag}"
        assert new File(h4.workspace, 'lgtm-rollback-mimir.json').isFile()
        h4.cleanup()
    }
}
