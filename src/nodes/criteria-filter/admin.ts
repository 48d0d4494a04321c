import type { NodeAPI } from 'node-red';
import { OPERATORS } from '../../criteria/operators';
import { computingAdminRoute } from '../shared/admin-request';
import { criteriaProblems, type CriteriaFilterProperties } from './config';

/** The edit dialog checks its rules with the very compiler the runtime uses, so what it accepts deploys. */
export function registerCriteriaAdminRoutes(RED: NodeAPI): void {
    RED.httpAdmin.get('/criteria-filter/operators', RED.auth.needsPermission('flows.read'), (_req, res) => {
        res.json({ operators: OPERATORS });
    });
    RED.httpAdmin.post('/criteria-filter/check', ...computingAdminRoute(RED, 'criteria-filter', '/criteria-filter/check'), (req, res) => {
        const body = (req.body ?? {}) as CriteriaFilterProperties;
        res.json({ problems: criteriaProblems(body) });
    });
}
