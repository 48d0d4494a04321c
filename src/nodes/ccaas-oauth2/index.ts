import type { Node, NodeAPI, NodeDef } from 'node-red';
import { openConfigNodeTokens, type OAuth2Provider } from '../../auth/config-node-tokens';
import type { OAuth2Credentials } from '../../auth/oauth2-settings';
import { errorText } from '../../errors/error-text';

type OAuth2ConfigNode = Node<Record<keyof OAuth2Credentials, unknown>> & OAuth2Provider;

/** Node-RED's key for flows_cred.json: the user's credentialSecret, else the one the runtime generated. */
function credentialSecretOf(RED: NodeAPI): string | undefined {
    const settings = RED.settings as unknown as { get?: (name: string) => unknown };
    for (const name of ['credentialSecret', '_credentialSecret']) {
        try {
            const value = settings.get?.(name);
            if (typeof value === 'string' && value) return value;
        } catch {
            // Not set: Node-RED throws for a runtime setting it has not loaded.
        }
    }
    return undefined;
}

export = function register(RED: NodeAPI): void {
    function OAuth2Node(this: OAuth2ConfigNode, config: NodeDef & Record<string, unknown>): void {
        RED.nodes.createNode(this, config);
        const node = this;
        const userDir = (RED.settings as { userDir?: unknown }).userDir;
        let removed: (() => void) | undefined;
        try {
            const opened = openConfigNodeTokens({
                nodeId: node.id,
                config,
                credentials: { ...((node.credentials ?? {}) as OAuth2Credentials) },
                userDir: typeof userDir === 'string' && userDir ? userDir : undefined,
                credentialSecret: credentialSecretOf(RED),
                updateCredentials: (credentials) => void Promise.resolve(RED.nodes.addCredentials(node.id, credentials)).catch(() => {}),
                problem: (report) => {
                    const text = RED._(`ccaas-oauth2.runtime.warnings.${report.kind}`, report as unknown as Record<string, string>);
                    if (report.kind === 'writeFailed') node.error(text);
                    else node.warn(text);
                },
            });
            node.tokens = opened.tokens;
            removed = opened.removed;
        } catch (err) {
            node.configError = err as Error;
            node.error(errorText(err));
        }
        node.on('close', (wasRemoved: boolean, done: () => void) => {
            if (wasRemoved) removed?.();
            done();
        });
    }

    RED.nodes.registerType('ccaas-oauth2', OAuth2Node, {
        credentials: {
            clientId: { type: 'text' },
            clientSecret: { type: 'password' },
            refreshToken: { type: 'password' },
        },
    });
};
