import groovy.json.JsonSlurper

/** Help texts match the code; the IAM policy is valid JSON and least-privilege; the guide covers the contract. */
class DocsTest {

    static final File REPO = TestSupport.REPO

    /** Parameter names documented in a .txt: <dt><code>name</code> ... */
    static List<String> documented(File txt) {
        return (txt.text =~ /<dt><code>(\w+)<\/code>/).collect { it[1] }
    }

    void testEveryStepHasHelpListingExactlyItsParameters() {
        PipelineHarness h = TestSupport.harness()
        List<File> steps = new File(REPO, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }
        assert steps*.name.sort() == ['lgtmDeploy.groovy', 'lgtmInternal.groovy', 'lgtmPipeline.groovy', 'lgtmRollback.groovy']
        steps.each { File f ->
            String name = f.name - '.groovy'
            File txt = new File(REPO, "vars/${name}.txt")
            assert txt.isFile(): "vars/${name}.txt is missing"
            Script s = h.scripts[name]
            if (s.respondsTo('defaultConfig')) {
                List<String> inCode = s.defaultConfig().keySet() as List
                assert documented(txt) == inCode: "vars/${name}.txt must document exactly ${inCode}, in order"
            } else {
                assert documented(txt).isEmpty()
            }
        }
        h.cleanup()
    }

    void testHelpShowsEveryDefault() {
        PipelineHarness h = TestSupport.harness()
        ['lgtmDeploy', 'lgtmRollback', 'lgtmPipeline'].each { String name ->
            String txt = new File(REPO, "vars/${name}.txt").text
            h.scripts[name].defaultConfig().each { String key, Object value ->
                String entry = txt.substring(txt.indexOf("<dt><code>${key}</code>"))
                entry = entry.substring(0, entry.indexOf('</dt>'))
                if (value instanceof String && !value.isEmpty()) {
                    assert entry.contains("default <code>'${value}'</code>"): "${name}.${key}: default '${value}' not documented"
                } else if (value instanceof Boolean || value instanceof Integer) {
                    assert entry.contains("default <code>${value}</code>"): "${name}.${key}: default ${value} not documented"
                } else if (value == null) {
                    assert entry.contains('required') || entry.contains('default'): "${name}.${key}: say required or the default"
                }
            }
        }
        h.cleanup()
    }

    void testIamPolicyIsValidAndLeastPrivilege() {
        Map policy = new JsonSlurper().parse(new File(REPO, 'iam/jenkins-deploy-policy.json'))
        assert policy.Version == '2012-10-17'
        List st = policy.Statement
        st.each { Map s ->
            assert s.Effect == 'Allow'
            List actions = s.Action instanceof List ? s.Action : [s.Action]
            assert !actions.any { it == '*' || it.endsWith(':*') }
        }
        List starActions = st.findAll { it.Resource == '*' }.collectMany { it.Action instanceof List ? it.Action : [it.Action] }
        assert starActions.sort() == ['ecr:GetAuthorizationToken', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions',
                                      'ecs:RegisterTaskDefinition']
        Map ecr = st.find { it.Sid == 'EcrPushAndManageLgtmRepositories' }
        assert ecr.Resource == 'arn:aws:ecr:*:123456789012:repository/lgtm-*'
        assert ecr.Action.containsAll(['ecr:PutImage', 'ecr:CreateRepository', 'ecr:PutLifecyclePolicy', 'ecr:DescribeImages'])
        Map services = st.find { it.Sid == 'EcsLgtmServices' }
        assert services.Resource.every { it.contains(':service') && it.contains('/lgtm/lgtm-') }
        assert services.Action.containsAll(['ecs:UpdateService', 'ecs:DescribeServices', 'ecs:CreateService',
                                            'ecs:ListServiceDeployments', 'ecs:DescribeServiceDeployments',
                                            'ecs:DescribeServiceRevisions'])
        Map pass = st.find { (it.Action instanceof List ? it.Action : [it.Action]).contains('iam:PassRole') }
        assert pass.Condition == [StringEquals: ['iam:PassedToService': 'ecs-tasks.amazonaws.com']]
        assert pass.Resource.every { it ==~ /arn:aws:iam::123456789012:role\/lgtm-ecs-[a-z-]+/ }
        // every role an environment file names must be passable
        new File(REPO, 'environments').listFiles().findAll { it.name == 'prod.json' }.each { File f ->
            Map roles = new JsonSlurper().parse(f).outputs.roles
            List arns = [roles.executionRoleArn] + roles.taskRoleArns.values()
            arns.each { assert pass.Resource.contains(it) }
        }
    }

    void testJenkinsGuideCoversTheContract() {
        String md = new File(REPO, 'docs/jenkins.md').text
        ["@Library('lgtm@v1')", 'Pipeline Utility Steps', 'Lockable Resources', 'Credentials Binding', 'Timestamper',
         'CloudBees AWS Credentials', 'Pipeline: AWS Steps', 'Job DSL', 'iam/jenkins-deploy-policy.json',
         'node >= 20', 'SERVICE NEEDS ATTENTION', 'lgtmRollback', 'lgtmPipeline', 'jobs/seed.groovy'].each {
            assert md.contains(it): "docs/jenkins.md should mention ${it}"
        }
        (0..5).each { int code -> assert md =~ /(?m)^\| `${code}` \|/ }
    }
}
