/*
 * Minimal test runner (no JUnit needed): loads every test/groovy/*Test.groovy class, runs each public method whose
 * name starts with "test" on a fresh instance, prints one line per test and the closing line
 *   groovy: N passed, N failed
 * Exit status 1 on any failure. Arguments: optional name filters (substring of Class.method).
 * LGTM_E2E=0 skips E2E*Test classes.
 */
File testDir = new File(getClass().protectionDomain.codeSource.location.path).parentFile
if (!new File(testDir, 'RunTests.groovy').exists()) {
    testDir = new File('test/groovy')
}
boolean e2e = System.getenv('LGTM_E2E') != '0'
List<String> filters = args as List
GroovyClassLoader loader = new GroovyClassLoader(getClass().classLoader)
loader.addClasspath(new File(testDir, 'lib').path)

int passed = 0
int failed = 0
int skipped = 0
List<String> failures = []
long start = System.currentTimeMillis()
List<File> files = testDir.listFiles().findAll { it.name.endsWith('Test.groovy') }.sort { it.name }
for (File f : files) {
    if (!e2e && f.name.startsWith('E2E')) {
        println "skip - ${f.name} (LGTM_E2E=0)"
        skipped++
        continue
    }
    Class cls = loader.parseClass(f)
    List methods = cls.declaredMethods.findAll {
        it.name.startsWith('test') && java.lang.reflect.Modifier.isPublic(it.modifiers) && it.parameterTypes.length == 0
    }.sort { it.name }
    for (def m : methods) {
        String name = "${cls.simpleName}.${m.name}"
        if (filters && !filters.any { name.contains(it) }) {
            continue
        }
        long t0 = System.currentTimeMillis()
        Object instance = cls.newInstance()
        try {
            if (instance.respondsTo('setUp')) {
                instance.setUp()
            }
            m.invoke(instance)
            passed++
            println "ok   - ${name} (${System.currentTimeMillis() - t0} ms)"
        } catch (Throwable t) {
            Throwable cause = t instanceof java.lang.reflect.InvocationTargetException ? t.cause : t
            failed++
            failures << name
            println "FAIL - ${name} (${System.currentTimeMillis() - t0} ms)"
            println cause.toString().readLines().collect { '       ' + it }.join('\n')
            if (!(cause instanceof AssertionError) || System.getenv('LGTM_TEST_TRACE')) {
                cause.stackTrace.findAll { it.fileName?.endsWith('.groovy') }.take(8).each { println "         at ${it}" }
            }
        } finally {
            if (instance.respondsTo('tearDown')) {
                instance.tearDown()
            }
        }
    }
}
println ''
if (failures) {
    println "failed: ${failures.join(', ')}"
}
println "time: ${(System.currentTimeMillis() - start) / 1000} s${skipped ? ", ${skipped} test file(s) skipped" : ''}"
println "groovy: ${passed} passed, ${failed} failed"
System.exit(failed == 0 ? 0 : 1)
