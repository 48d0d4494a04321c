import type { NodeAPI } from 'node-red';
import { CALL_FIELDS } from '../../call/call-fields';
import { sampleCall } from '../../call/sample-call';
import { TRIGGER_EVENTS } from '../../call/trigger-events';
import { DELIVERY_SETTING_MAXIMA } from '../../delivery/delivery-queue';
import { HEADER_NAME } from '../../request/build-request';
import { settingProblems, type SettingsToCheck } from '../../request/validation';
import { computingAdminRoute } from './admin-request';

/** What the editors (resources/ccaas-editor.js) read from the runtime instead of keeping copies of its rules. */
export function editorConstants(): { headerName: string; deliveryMaxima: typeof DELIVERY_SETTING_MAXIMA } {
    return { headerName: HEADER_NAME.source, deliveryMaxima: DELIVERY_SETTING_MAXIMA };
}

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
    RED.httpAdmin.get('/ccaas-web-service/editor-constants', RED.auth.needsPermission('flows.read'), (_req, res) => {
        res.json(editorConstants());
    });
    // The web service out dialog checks its Target URL and retry schedule with the compilers the runtime deploys.
    const check = '/ccaas-web-service/web-service-out/check';
    RED.httpAdmin.post(check, ...computingAdminRoute(RED, 'web-service-out', check), (req, res) => {
        const body = (req.body ?? {}) as SettingsToCheck;
        res.json({
            problems: settingProblems({
                url: body.url,
                authType: body.authType,
                retries: body.retries,
                deadLetters: body.deadLetters,
                deadLetterDays: body.deadLetterDays,
            }),
        });
    });
    // The editor validates templates with the very parser the runtime uses. A <script src> in a node's .html is
    // fetched before the editor has a token to send, so this public library file is served without auth.
    RED.httpAdmin.get('/ccaas-web-service/mustache.js', (_req, res) => {
        res.type('application/javascript').sendFile(require.resolve('mustache/mustache.min.js'));
    });
}
