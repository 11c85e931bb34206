import groovy.json.JsonSlurper

/**
 * A small stand-in for the Jenkins Pipeline runtime, enough to run the vars/ steps under Groovy 2.4 (the language
 * level Jenkins runs). Steps are closures in the scripts' Binding; every call is recorded.
 *
 * sh: records the script text, label and the environment in effect (base env + withEnv + credential bindings).
 * It then either answers from `shHandler` (a closure (Map call) -> Integer status) or, with `realSh = true`,
 * runs `bash -c <script>` with exactly that environment (ProcessBuilder) in the workspace.
 */
class PipelineHarness {

    /** Thrown by error(): what Jenkins would show as the build's failure message. */
    static class PipelineError extends RuntimeException {
        PipelineError(String message) {
            super(message)
        }
    }

    /** currentBuild */
    static class FakeBuild {
        String result
        String description
        String displayName
        int number = 7
        String currentResult = 'SUCCESS'
    }

    /** env: reads see the environment in effect (withEnv included); writes go to the base environment. */
    static class EnvProxy extends GroovyObjectSupport {
        PipelineHarness h

        Object getProperty(String name) {
            return h.effectiveEnv()[name]
        }

        void setProperty(String name, Object value) {
            h.baseEnv[name] = value?.toString()
        }

        Map getEnvironment() {
            return h.effectiveEnv()
        }
    }

    static final Map<String, Class> SCRIPT_CACHE = [:]

    File repoRoot
    File workspace
    File tmpDir
    Map<String, String> baseEnv = [:]
    List<Map> overlays = []
    List<Map> calls = []
    List<Map> shCalls = []
    List<String> echoes = []
    List<Map> archived = []
    List<String> locks = []
    List<String> secretValues = []
    int bindingDepth = 0
    Map<String, Map> awsCredentials = [:]
    Closure shHandler = null
    boolean realSh = false
    long realShTimeoutMs = 300000
    String resourceText = null
    Object inputResult = null
    FakeBuild currentBuild = new FakeBuild()
    Map pipelineModel = null
    Binding binding = new Binding()
    Map<String, Script> scripts = [:]
    StringBuilder log = new StringBuilder()

    PipelineHarness(File repoRoot) {
        this.repoRoot = repoRoot.canonicalFile
        File base = File.createTempDir('lgtm-harness', '')
        workspace = new File(base, 'ws')
        tmpDir = new File(base, 'ws@tmp')
        workspace.mkdirs()
        tmpDir.mkdirs()
        baseEnv.putAll([WORKSPACE: workspace.path, BUILD_NUMBER: '42', BRANCH_NAME: 'main', JOB_NAME: 'lgtm/mimir/main',
                        PATH: '/usr/local/bin:/usr/bin:/bin', HOME: System.getProperty('user.home')])
        registerSteps()
        ['lgtmInternal', 'lgtmDeploy', 'lgtmRollback', 'lgtmPipeline'].each { load(it) }
    }

    void cleanup() {
        workspace.parentFile.deleteDir()
    }

    // ---------------------------------------------------------------------------------------------- scripts

    Script load(String name) {
        File f = new File(repoRoot, "vars/${name}.groovy")
        Class cls
        synchronized (SCRIPT_CACHE) {
            cls = SCRIPT_CACHE[f.path]
            if (cls == null) {
                cls = new GroovyClassLoader(this.class.classLoader).parseClass(f)
                SCRIPT_CACHE[f.path] = cls
            }
        }
        Script s = (Script) cls.newInstance()
        s.binding = binding
        binding.setVariable(name, s)
        scripts[name] = s
        return s
    }

    /** Calls vars/<name>.groovy's call(Map). */
    Object step(String name, Map args) {
        return scripts[name].invokeMethod('call', [args] as Object[])
    }

    /** Runs a step and returns the PipelineError it raised (null if it did not raise one). */
    PipelineError stepError(String name, Map args) {
        try {
            step(name, args)
        } catch (PipelineError e) {
            return e
        }
        return null
    }

    // ---------------------------------------------------------------------------------------------- environment

    Map<String, String> effectiveEnv() {
        Map<String, String> m = new LinkedHashMap<String, String>()
        baseEnv.each { k, v ->
            if (v != null) {
                m[k.toString()] = v.toString()
            }
        }
        for (Map o : overlays) {
            o.each { k, v ->
                // Jenkins (EnvVars.override): an empty value removes the variable.
                if (v == null || v.toString().isEmpty()) {
                    m.remove(k)
                } else {
                    m[k] = v.toString()
                }
            }
        }
        return m
    }

    private Object withOverlay(Map overlay, Closure body) {
        overlays << overlay
        try {
            return body.call()
        } finally {
            overlays.remove(overlays.size() - 1)
        }
    }

    private void record(String stepName, Object args) {
        calls << [step: stepName, args: args]
    }

    List<Map> callsOf(String stepName) {
        return calls.findAll { it.step == stepName }
    }

    // ---------------------------------------------------------------------------------------------- steps

    private void registerSteps() {
        PipelineHarness h = this
        binding.setVariable('env', new EnvProxy(h: h))
        binding.setVariable('currentBuild', currentBuild)
        binding.setVariable('params', [:])
        binding.setVariable('scm', [class: 'GitSCM'])

        binding.setVariable('error') { String msg ->
            h.record('error', msg)
            h.log << "ERROR: ${msg}\n"
            throw new PipelineError(msg)
        }
        binding.setVariable('echo') { Object msg ->
            h.record('echo', msg.toString())
            h.echoes << msg.toString()
            h.log << msg.toString() << '\n'
        }
        binding.setVariable('pwd') { Map args = [:] ->
            h.record('pwd', args)
            return args?.tmp ? h.tmpDir.path : h.workspace.path
        }
        binding.setVariable('libraryResource') { Object arg ->
            String path = arg instanceof Map ? arg.resource : arg.toString()
            h.record('libraryResource', path)
            if (h.resourceText != null) {
                return h.resourceText
            }
            File f = new File(h.repoRoot, "resources/${path}")
            if (!f.isFile()) {
                throw new PipelineError("No such library resource ${path} could be found.")
            }
            return f.getText('UTF-8')
        }
        binding.setVariable('writeFile') { Map args ->
            h.record('writeFile', [file: args.file, encoding: args.encoding, length: args.text?.length()])
            File f = h.resolve(args.file.toString())
            f.parentFile.mkdirs()
            f.setText(args.text.toString(), (args.encoding ?: 'UTF-8').toString())
        }
        binding.setVariable('readFile') { Object arg ->
            String path = arg instanceof Map ? arg.file : arg.toString()
            h.record('readFile', path)
            return h.resolve(path).getText('UTF-8')
        }
        binding.setVariable('fileExists') { Object arg ->
            String path = arg instanceof Map ? arg.file : arg.toString()
            h.record('fileExists', path)
            return h.resolve(path).exists()
        }
        binding.setVariable('readJSON') { Map args ->
            h.record('readJSON', args)
            String text = args.text != null ? args.text.toString() : h.resolve(args.file.toString()).getText('UTF-8')
            return new JsonSlurper().parseText(text)
        }
        binding.setVariable('archiveArtifacts') { Object arg ->
            Map args = arg instanceof Map ? arg : [artifacts: arg.toString()]
            h.record('archiveArtifacts', args)
            h.archived << args
        }
        binding.setVariable('withEnv') { List vars, Closure body ->
            h.record('withEnv', vars.collect { it.toString() })
            Map overlay = [:]
            vars.each { String kv ->
                int i = kv.indexOf('=')
                overlay[kv.substring(0, i)] = kv.substring(i + 1)
            }
            return h.withOverlay(overlay, body)
        }
        binding.setVariable('withCredentials') { List bindings, Closure body ->
            h.record('withCredentials', bindings)
            Map overlay = [:]
            bindings.each { Map b ->
                if (b.'$class' == 'AmazonWebServicesCredentialsBinding') {
                    Map c = h.awsCredentials[b.credentialsId]
                    if (c == null) {
                        throw new PipelineError("Could not find credentials entry with ID '${b.credentialsId}'")
                    }
                    overlay[b.accessKeyVariable ?: 'AWS_ACCESS_KEY_ID'] = c.accessKey
                    overlay[b.secretKeyVariable ?: 'AWS_SECRET_ACCESS_KEY'] = c.secretKey
                    h.secretValues << c.secretKey
                } else if (b.type == 'string') {
                    overlay[b.variable] = "secret-of-${b.credentialsId}"
                    h.secretValues << overlay[b.variable]
                } else if (b.type == 'usernamePassword') {
                    overlay[b.usernameVariable] = "user-of-${b.credentialsId}"
                    overlay[b.passwordVariable] = "password-of-${b.credentialsId}"
                    h.secretValues << overlay[b.passwordVariable]
                } else {
                    throw new PipelineError("harness: unsupported credential binding ${b}")
                }
            }
            h.bindingDepth++
            try {
                return h.withOverlay(overlay, body)
            } finally {
                h.bindingDepth--
            }
        }
        binding.setVariable('string') { Map args -> [type: 'string'] + args }
        binding.setVariable('usernamePassword') { Map args -> [type: 'usernamePassword'] + args }
        binding.setVariable('withAWS') { Map args, Closure body ->
            h.record('withAWS', args)
            Map overlay = [AWS_ACCESS_KEY_ID: 'ASIAHARNESSROLE', AWS_SECRET_ACCESS_KEY: 'role-session-secret',
                           AWS_SESSION_TOKEN: 'role-session-token']
            if (args.region) {
                overlay.AWS_REGION = args.region
            }
            h.secretValues << 'role-session-secret'
            h.secretValues << 'role-session-token'
            h.bindingDepth++
            try {
                return h.withOverlay(overlay, body)
            } finally {
                h.bindingDepth--
            }
        }
        binding.setVariable('lock') { Object arg, Closure body ->
            String name = arg instanceof Map ? arg.resource : arg.toString()
            h.record('lock', name)
            h.locks << name
            try {
                return body.call()
            } finally {
                h.locks.remove(h.locks.size() - 1)
            }
        }
        binding.setVariable('timeout') { Map args, Closure body ->
            h.record('timeout', args)
            return body.call()
        }
        binding.setVariable('timestamps') { Closure body ->
            h.record('timestamps', null)
            return body.call()
        }
        binding.setVariable('stage') { String name, Closure body ->
            h.record('stage', name)
            return body.call()
        }
        binding.setVariable('input') { Map args ->
            h.record('input', args)
            return h.inputResult
        }
        binding.setVariable('sh') { Object arg ->
            return h.runSh(arg instanceof Map ? arg : [script: arg.toString()])
        }
        binding.setVariable('pipeline') { Closure body ->
            h.record('pipeline', null)
            Map root = [name: 'pipeline', args: [], children: [], closure: body]
            Closure c = (Closure) body.clone()
            c.delegate = new DslRecorder(root)
            c.resolveStrategy = Closure.DELEGATE_FIRST
            c.call()
            h.pipelineModel = root
            return null
        }
    }

    File resolve(String path) {
        File f = new File(path)
        return f.isAbsolute() ? f : new File(workspace, path)
    }

    Object runSh(Map args) {
        Map call = [script: args.script.toString(), label: args.label, env: effectiveEnv(),
                    inBinding: bindingDepth > 0, locks: new ArrayList(locks),
                    returnStatus: args.returnStatus ?: false, returnStdout: args.returnStdout ?: false]
        record('sh', call)
        shCalls << call
        int status
        String stdout = ''
        if (realSh) {
            Map r = execute(call)
            status = r.status
            stdout = r.stdout
        } else {
            Object answer = shHandler == null ? 0 : shHandler.call(call)
            status = answer == null ? 0 : (answer as Integer)
        }
        call.status = status
        if (call.returnStdout) {
            return stdout
        }
        if (call.returnStatus) {
            return status
        }
        if (status != 0) {
            throw new PipelineError("script returned exit code ${status}")
        }
        return null
    }

    /** Really runs the script: bash -c with exactly the recorded environment, in the workspace. */
    Map execute(Map call) {
        ProcessBuilder pb = new ProcessBuilder('bash', '-c', call.script)
        pb.directory(workspace)
        Map<String, String> penv = pb.environment()
        penv.clear()
        call.env.each { k, v -> penv.put(k.toString(), v.toString()) }
        pb.redirectErrorStream(!call.returnStdout)
        Process p = pb.start()
        StringBuilder out = new StringBuilder()
        StringBuilder err = new StringBuilder()
        Thread t1 = Thread.start { p.inputStream.eachLine('UTF-8') { out << it << '\n' } }
        Thread t2 = Thread.start { p.errorStream.eachLine('UTF-8') { err << it << '\n' } }
        boolean done = p.waitFor(realShTimeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS)
        if (!done) {
            p.destroy()
            p.waitFor()
        }
        t1.join()
        t2.join()
        log << "[sh ${call.label}]\n" << out << err
        call.output = out.toString() + err.toString()
        return [status: done ? p.exitValue() : 143, stdout: out.toString()]
    }

    // ---------------------------------------------------------------------------------------------- model helpers

    /** Depth-first list of model nodes with that name. */
    static List<Map> findNodes(Map node, String name) {
        List<Map> found = []
        if (node.name == name) {
            found << node
        }
        node.children.each { found.addAll(findNodes(it, name)) }
        return found
    }

    Map stageNode(String stageName) {
        return findNodes(pipelineModel, 'stage').find { it.args[0] == stageName }
    }
}
