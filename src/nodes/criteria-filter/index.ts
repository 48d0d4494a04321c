import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import type { CompiledCriteria } from '../../criteria/compile';
import { evaluateCriteria } from '../../criteria/evaluate';
import { registerEditorResources } from '../shared/editor-resources';
import { callOf } from '../shared/msg-call';
import { throttledStatus } from '../shared/throttled-status';
import { registerCriteriaAdminRoutes } from './admin';
import { criteriaFilterOptions, firstProblem, type CriteriaFilterProperties } from './config';

export = function register(RED: NodeAPI): void {
    registerEditorResources(RED);

    function CriteriaFilterNode(this: Node, config: NodeDef & CriteriaFilterProperties): void {
        RED.nodes.createNode(this, config);
        let criteria: CompiledCriteria | undefined;
        let configError: Error | undefined;
        try {
            criteria = criteriaFilterOptions(config);
        } catch (err) {
            configError = err as Error;
            this.status({ fill: 'red', shape: 'ring', text: firstProblem(err) });
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
    registerCriteriaAdminRoutes(RED);
};
