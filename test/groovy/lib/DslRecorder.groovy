/**
 * Records a declarative DSL (pipeline { ... }, Job DSL) as a tree of [name, args, children, closure] nodes.
 * A call used as an argument of another call (buildDiscarder(logRotator(...))) becomes that call's argument.
 * Bare words `any` and `none` (agent any) are recorded as nodes; other properties resolve on the closure's owner.
 */
class DslRecorder {
    Map node

    DslRecorder(Map node) {
        this.node = node
    }

    def propertyMissing(String name) {
        if (name in ['any', 'none']) {
            Map child = [name: name, args: [], children: [], closure: null]
            node.children << child
            return child
        }
        throw new MissingPropertyException(name, DslRecorder)
    }

    def methodMissing(String name, Object argsObj) {
        Object[] args = argsObj as Object[]
        Map child = [name: name, args: [], children: [], closure: null]
        for (Object a : args) {
            if (a instanceof Closure) {
                child.closure = a
            } else {
                if (a instanceof Map && node.children.any { it.is(a) }) {
                    node.children.removeAll { it.is(a) }
                }
                child.args << a
            }
        }
        node.children << child
        if (child.closure != null) {
            Closure c = (Closure) child.closure.clone()
            c.delegate = new DslRecorder(child)
            c.resolveStrategy = Closure.DELEGATE_FIRST
            c.call()
        }
        return child
    }
}
