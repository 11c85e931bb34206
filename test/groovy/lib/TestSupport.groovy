import groovy.json.JsonOutput

/** Shared helpers for the step tests. */
class TestSupport {

    static final File REPO = locateRepo()

    static File locateRepo() {
        File dir = new File('.').canonicalFile
        while (dir != null && !new File(dir, 'vars/lgtmDeploy.groovy').exists()) {
            dir = dir.parentFile
        }
        assert dir != null: 'run the tests from inside the repository'
        return dir
    }

    /** A harness whose fake bundle is a placeholder and whose sh answers like the helper would, with exit codes. */
    static PipelineHarness harness(Map exitCodes = [:]) {
        PipelineHarness h = new PipelineHarness(REPO)
        h.resourceText = '// fake lgtm-deploy bundle\n'
        h.baseEnv.GIT_COMMIT = '0123456789abcdef0123456789abcdef01234567'
        h.shHandler = fakeHelper(h, exitCodes)
        return h
    }

    /** Which helper command an sh call ran: node, tag, build, deploy or rollback (null: not one of ours). */
    static String kind(PipelineHarness h, Map call) {
        Script internal = h.scripts.lgtmInternal
        Map known = [node: internal.nodeCheckScript(), tag: internal.tagScript(), build: internal.buildScript(),
                     deploy: internal.deployScript(), rollback: internal.rollbackScript()]
        return known.find { k, v -> v == call.script }?.key
    }

    static Closure fakeHelper(PipelineHarness h, Map exitCodes) {
        return { Map call ->
            String k = kind(h, call)
            if (k == 'tag' && (exitCodes.tag ?: 0) == 0) {
                new File(call.env.LGTM_TAG_FILE).text = JsonOutput.toJson(
                    [component: call.env.LGTM_COMPONENT, version: '2.14.0', sha: '0123456', tag: '2.14.0-0123456'])
            }
            if (k == 'deploy' || k == 'rollback') {
                new File(call.env.LGTM_RECORD).text = '{"verdict":"fake"}'
            }
            return exitCodes[k] ?: 0
        }
    }

    static List<String> helperKinds(PipelineHarness h) {
        return h.shCalls.collect { kind(h, it) }
    }

    /** A fake `node` for real-shell tests: records its argv (NUL-separated, one file per call) and answers like the helper. */
    static File fakeNodeBin(PipelineHarness h) {
        File bin = new File(h.workspace.parentFile, 'fakebin')
        File calls = new File(h.workspace.parentFile, 'node-calls')
        bin.mkdirs()
        calls.mkdirs()
        File node = new File(bin, 'node')
        node.text = '''#!/usr/bin/env bash
if [ "$1" = "--version" ]; then echo v20.20.2; exit 0; fi
if [ "$1" = "-e" ]; then exit "${FAKE_NODE_CHECK:-0}"; fi
shift
# Whether a record was at LGTM_RECORD when the helper started (the steps remove the previous run's first).
if [ -n "${LGTM_RECORD:-}" ]; then if [ -e "$LGTM_RECORD" ]; then echo present; else echo absent; fi > "$FAKE_NODE_CALLS/../record-at-start"; fi
n=$(ls "$FAKE_NODE_CALLS" | wc -l)
printf '%s\\0' "$@" > "$FAKE_NODE_CALLS/$(printf '%03d' "$n")-$1"
for a in "$@"; do
  case "$a" in --record=*) printf '{"fake":true}' > "${a#--record=}" ;; esac
done
if [ "$1" = tag ]; then printf '{"component":"%s","version":"2.14.0","sha":"0123456","tag":"2.14.0-0123456"}\\n' "$2"; fi
code_var="FAKE_NODE_EXIT_$1"
exit "${!code_var:-0}"
'''
        node.setExecutable(true)
        h.baseEnv.PATH = "${bin.path}:${h.baseEnv.PATH}"
        h.baseEnv.FAKE_NODE_CALLS = calls.path
        return calls
    }

    /** The argv lists the fake node recorded, in call order. */
    static List<List<String>> nodeCalls(File calls) {
        return calls.listFiles().sort { it.name }.collect { f ->
            String s = new String(f.bytes, 'UTF-8')
            s.isEmpty() ? [] : s.substring(0, s.length() - 1).split('\u0000', -1) as List
        }
    }
}
