import type { NodeAPI } from 'node-red';
import { CALL_FIELDS } from '../../call/call-fields';
import { sampleCall } from '../../call/sample-call';
import { TRIGGER_EVENTS } from '../../call/trigger-events';

let registeredWith: unknown;

/**
 * Admin routes every node's editor shares: the placeholder table (so the picker and the criteria field list come
 * from the same source as the runtime), the sample call, and the Mustache parser the editor validates with.
 * Several node files call this; the routes are added once per runtime.
 */
export function registerEditorResources(RED: NodeAPI): void {
    if (registeredWith === RED.httpAdmin) return;
    registeredWith = RED.httpAdmin;
    RED.httpAdmin.get('/ccaas-web-service/call-fields', RED.auth.needsPermission('flows.read'), (_req, res) => {
        res.json({ fields: CALL_FIELDS, events: TRIGGER_EVENTS, sampleCall: sampleCall() });
    });
    // The editor validates templates with the very parser the runtime uses. A <script src> in a node's .html is
    // fetched before the editor has a token to send, so this public library file is served without auth.
    RED.httpAdmin.get('/ccaas-web-service/mustache.js', (_req, res) => {
        res.type('application/javascript').sendFile(require.resolve('mustache/mustache.min.js'));
    });
}
