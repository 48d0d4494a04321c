// Profile + credentials + TLS: the one way both a deployed node and the edit dialog's Test get ready to send.
import type { Node, NodeAPI } from 'node-red';
import { deployedTokens, type OAuth2Provider } from '../../auth/config-node-tokens';
import { deliveryHeaders } from '../../delivery/delivery-headers';
import type { TlsOptions } from '../../delivery/http-transport';
import { ConfigError } from '../../errors/coded-error';
import { compileRequest } from '../../request/build-request';
import { idempotencyHeaderOf, profileHeaders, timeoutMsOf, type Credentials, type WebServiceOutConfig } from './config';

interface TlsConfigNode extends Node {
    addTLSOptions(options: TlsOptions): TlsOptions;
}

function tlsOptionsOf(RED: NodeAPI, id: unknown): TlsOptions | undefined {
    if (!id) return undefined;
    const tlsNode = RED.nodes.getNode(String(id)) as TlsConfigNode | null;
    if (!tlsNode || typeof tlsNode.addTLSOptions !== 'function') throw new ConfigError(`tls: the TLS configuration ${String(id)} is not deployed`);
    return tlsNode.addTLSOptions({});
}

/**
 * Compiles the profile; throws a ConfigError naming what cannot work. The Preview sends nothing, so it needs no
 * deployed OAuth 2.0 configuration (`sending` false).
 */
export function prepareProfile(RED: NodeAPI, config: Partial<WebServiceOutConfig>, credentials: Credentials, sending = true) {
    const builder = compileRequest(config, credentials);
    const decorate = deliveryHeaders({
        idempotencyHeader: idempotencyHeaderOf(config),
        signingSecret: credentials.signingSecret,
        profileHeaders: profileHeaders(config),
    });
    const tokens =
        config.authType === 'oauth2' && sending
            ? deployedTokens(config.oauth2, config.oauth2 ? (RED.nodes.getNode(String(config.oauth2)) as OAuth2Provider | null) : null)
            : undefined;
    return { builder, decorate, timeoutMs: timeoutMsOf(config.timeout), tls: tlsOptionsOf(RED, config.tls), tokens };
}

export type PreparedProfile = ReturnType<typeof prepareProfile>;
