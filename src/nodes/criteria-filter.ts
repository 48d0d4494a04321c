import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { compileCriteria, CriteriaConfigError, type CompiledCriteria } from '../criteria/compile';
import { evaluateCriteria } from '../criteria/evaluate';
import { OPERATORS } from '../criteria/operators';
import { computingAdminRoute } from './shared/admin-request';
import { registerEditorResources } from './shared/editor-resources';
import { callOf } from './shared/msg-call';
import { throttledStatus } from './shared/throttled-status';

interface CriteriaFilterConfig extends NodeDef {
    rules: unknown;
    match: unknown;
    outputs: unknown;
}


export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function CriteriaFilterNode(this: Node, config: CriteriaFilterConfig): void {
        RED.nodes.createNode(this, config);
        let criteria: CompiledCriteria | undefined;
        let configError: Error | undefined;
        try {
            criteria = compileCriteria(config);
        } catch (err) {
            configError = err as Error;
            // The status has room for one problem; the log line lists them all.
            const first = err instanceof CriteriaConfigError && err.problems.length > 0 ? err.problems[0].message : configError.message;
            this.status({ fill: 'red', shape: 'ring', text: first });
            this.error(configError.message);
        }
        let passed = 0;
        let failed = 0;
        const counts = throttledStatus(this);
        this.on('close', () => counts.stop());

        this.on('input', (msg: NodeMessageInFlow & { call?: unknown; criteria?: unknown }, send, done) => {
            if (!criteria) {
                done(configError);
                return;
            }
            let explanation;
            try {
                explanation = evaluateCriteria(criteria, callOf(msg, 'the criteria filter tests call data from msg.call'));
            } catch (err) {
                done(err as Error);
                return;
            }
            msg.criteria = explanation;
            if (explanation.matched) passed++;
            else failed++;
            const matched = explanation.matched;
            counts.set(() => ({ fill: matched ? 'green' : 'grey', shape: 'dot', text: RED._('criteria-filter.status.counts', { passed, failed }) }));
            if (explanation.matched) send(criteria.outputs === 2 ? [msg, null] : msg);
            else if (criteria.outputs === 2) send([null, msg]);
            done();
        });
    }

    RED.nodes.registerType('criteria-filter', CriteriaFilterNode);

    // The edit dialog checks its rules with the very compiler the runtime uses, so what it accepts deploys.
    RED.httpAdmin.get('/criteria-filter/operators', RED.auth.needsPermission('flows.read'), (_req, res) => {
        res.json({ operators: OPERATORS });
    });
    RED.httpAdmin.post('/criteria-filter/check', ...computingAdminRoute(RED, 'criteria-filter', '/criteria-filter/check'), (req, res) => {
        const body = (req.body ?? {}) as { rules?: unknown; match?: unknown; outputs?: unknown };
        try {
            compileCriteria({ rules: body.rules, match: body.match, outputs: body.outputs });
            res.json({ problems: [] });
        } catch (err) {
            res.json({ problems: err instanceof CriteriaConfigError ? err.problems : [{ message: String(err) }] });
        }
    });
};
