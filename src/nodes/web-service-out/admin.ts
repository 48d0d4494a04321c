// The edit dialog's Test (send: true) and Preview (send: false), from its current, unsaved settings.
import type { Node, NodeAPI } from 'node-red';
import { describeGrant, sendAuthorized } from '../../auth/authorized-send';
import { exchange, type ExchangeResult } from '../../delivery/exchange';
import { HttpTransport } from '../../delivery/http-transport';
import { idempotencyKey } from '../../delivery/idempotency';
import { sampleCall } from '../../call/sample-call';
import { CodedError, ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import type { OutgoingRequest, RequestGrant } from '../../request/build-request';
import { maskValue } from '../../request/masking';
import { computingAdminRoute } from '../shared/admin-request';
import { originOf, SECRET_FIELDS, type Credentials, type WebServiceOutConfig } from './config';
import { prepareProfile, type PreparedProfile } from './profile';

/** A deployed web service out node, as the Test sees it. */
export type DeployedWebServiceOut = Node & {
    /** The origin this deployed node sends its secrets to: the only one the Test may reuse them for. */
    sendsTo?: string;
};

interface TestRequest {
    id?: unknown;
    config?: unknown;
    credentials?: unknown;
    call?: unknown;
    payload?: unknown;
    send?: unknown;
}

// The editor sends this in place of a password it never received.
const STORED_SECRET = '__PWRD__';

export function registerTestRoute(RED: NodeAPI): void {
    /**
     * A stored secret (or the config node's token) may only go where the deployed node sends it: otherwise anyone
     * who may edit flows could read it by pointing the Test elsewhere.
     */
    function checkSameOrigin(id: unknown, url: unknown, what: string, advice: string, undeployed: string): void {
        const deployedOrigin = (RED.nodes.getNode(String(id)) as DeployedWebServiceOut | null)?.sendsTo;
        if (!deployedOrigin || deployedOrigin !== originOf(url)) throw new ConfigError(`${what} is only sent to ${deployedOrigin ?? undeployed}; ${advice}`);
    }

    /** Secrets the dialog does not have (Node-RED never sends a stored password to the editor) come from the deployed node. */
    function credentialsFor(id: unknown, fromDialog: unknown, url: unknown): Credentials {
        const stored = (typeof id === 'string' && id ? (RED.nodes.getCredentials(id) as Credentials | undefined) : undefined) ?? {};
        const dialog = (fromDialog && typeof fromDialog === 'object' ? fromDialog : {}) as Record<string, unknown>;
        const merged: Credentials = {};
        for (const field of SECRET_FIELDS) {
            const value = dialog[field];
            if (typeof value === 'string' && value !== STORED_SECRET) {
                merged[field] = value;
            } else if (stored[field] !== undefined) {
                checkSameOrigin(id, url, `credentials: the stored ${field} of this node`, 'enter it again to test another URL', 'its deployed URL');
                merged[field] = stored[field];
            }
        }
        return merged;
    }

    RED.httpAdmin.post('/web-service-out/test', ...computingAdminRoute(RED, 'web-service-out', '/web-service-out/test'), (req, res) => {
        const body = (req.body ?? {}) as TestRequest;
        const config = (body.config && typeof body.config === 'object' ? body.config : {}) as Partial<WebServiceOutConfig>;
        const call = body.call && typeof body.call === 'object' && !Array.isArray(body.call) ? body.call : sampleCall();
        const id = body.id ?? config.id;
        let secrets: string[] = [];
        const answer = (result: Record<string, unknown>): void => {
            res.json(maskValue(result, secrets));
        };
        let prepared: PreparedProfile;
        try {
            const credentials = credentialsFor(id, body.credentials, config.url);
            secrets = SECRET_FIELDS.filter((field) => field !== 'user').map((field) => credentials[field] ?? '');
            prepared = prepareProfile(RED, config, credentials, body.send === true);
            // The token is a stored secret of the deployed config node: the same rule as the node's own secrets.
            if (prepared.tokens)
                checkSameOrigin(id, config.url, 'oauth2: the OAuth 2.0 token', 'deploy this node to test another URL', 'the deployed URL of this node');
        } catch (err) {
            answer({ error: errorText(err), code: err instanceof CodedError ? err.code : 'config' });
            return;
        }
        const transport = body.send === true ? new HttpTransport({ tls: prepared.tls, maxSockets: 1 }) : undefined;
        const payload = 'payload' in body ? body.payload : call;
        const key = idempotencyKey(String(id ?? ''), call);
        const decorate = (request: OutgoingRequest) => prepared.decorate(request, key);
        const send = (grant?: RequestGrant) =>
            exchange(prepared.builder, transport, call, payload, { timeoutMs: prepared.timeoutMs, send: body.send === true, decorate, grant });
        const { tokens } = prepared;
        const requestsBefore = tokens?.tokenRequests ?? 0;
        // With OAuth 2.0 the Test gets the token first (from the deployed config node, whose cache and rotated
        // refresh token it shares) and shows that step, masked.
        const sent: Promise<{ result: ExchangeResult; token?: Record<string, unknown> }> =
            tokens && transport
                ? sendAuthorized(tokens, transport, send).then((authorized) => ({
                      result: authorized.result,
                      token: describeGrant(tokens, authorized, requestsBefore),
                  }))
                : send().then((result) => ({ result }));
        void sent
            .then(({ result, token }) => {
                secrets = [...secrets, ...(result.secrets ?? [])];
                const shown: Record<string, unknown> = token ? { token, request: result.request } : { request: result.request };
                if (result.response) {
                    const { body: responseBody } = result.response;
                    shown.response = {
                        ...result.response,
                        body: Buffer.isBuffer(responseBody) ? `(${responseBody.length} bytes of binary data)` : responseBody,
                    };
                }
                if (result.error) {
                    shown.error = result.error.message;
                    shown.code = result.error.code;
                }
                answer(shown);
            })
            .catch((err) => answer({ error: errorText(err), code: 'network' }))
            .finally(() => transport?.close());
    });
}
