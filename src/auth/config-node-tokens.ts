import { ConfigError } from '../errors/coded-error';
import { errorText } from '../errors/error-text';
import { parseOAuth2Settings, type OAuth2Credentials } from './oauth2-settings';
import { nodeStateDirectory } from '../store/node-state-directory';
import { RefreshTokenFile, type TokenFileProblem } from './refresh-token-file';
import { TokenSource } from './token-source';

export interface ConfigNodeTokensOptions {
    nodeId: string;
    config: Record<string, unknown>;
    credentials: OAuth2Credentials;
    /** Node-RED's user directory; undefined in an embedded runtime without one (the token is then kept in memory). */
    userDir?: string;
    /** Node-RED's credential secret (settings credentialSecret, else its generated _credentialSecret). */
    credentialSecret?: string;
    /** The runtime's copy of the node's credentials gets the rotated token too, so the next deploy saves it. */
    updateCredentials?: (credentials: OAuth2Credentials) => void;
    /** A problem with the kept refresh token; `writeFailed` is an error, the others warnings. */
    problem: (report: TokenFileProblem) => void;
}

export interface ConfigNodeTokens {
    tokens: TokenSource;
    /** The node was deleted: its rotated token goes with it. */
    removed(): void;
}

/**
 * Everything a `ccaas-oauth2` config node holds: its checked settings and the shared token source, started with the
 * refresh token a rotation left on disk when that still applies, and keeping every new rotation there.
 * Throws a ConfigError naming the field when the settings cannot work.
 */
export function openConfigNodeTokens(options: ConfigNodeTokensOptions): ConfigNodeTokens {
    const { credentials } = options;
    const settings = parseOAuth2Settings(options.config, credentials);
    // The one state policy (src/store/node-store.ts): no user directory, no file; memory until the next deploy.
    const file =
        options.credentialSecret && options.userDir
            ? new RefreshTokenFile(nodeStateDirectory(options.userDir, 'oauth2', options.nodeId), options.credentialSecret)
            : undefined;
    let refreshToken = credentials.refreshToken;
    if (settings.grant === 'refresh_token' && file) refreshToken = file.read(credentials.refreshToken, options.problem);
    let warnedNoSecret = false;
    const tokens = new TokenSource(settings, credentials, {
        refreshToken,
        onRotated: (rotated) => {
            options.updateCredentials?.({ ...credentials, refreshToken: rotated });
            if (!file) {
                if (!warnedNoSecret) options.problem({ kind: options.userDir ? 'noSecret' : 'noUserDir' });
                warnedNoSecret = true;
                return;
            }
            file.write(rotated, credentials.refreshToken).catch((err: unknown) =>
                options.problem({ kind: 'writeFailed', path: file.path, reason: errorText(err) }),
            );
        },
    });
    return { tokens, removed: () => file?.remove() };
}

/** What a node that sends with OAuth 2.0 finds under the config node's id. */
export interface OAuth2Provider {
    tokens?: TokenSource;
    configError?: Error;
}

/** The shared token source of a deployed config node, or a ConfigError saying why there is none. */
export function deployedTokens(id: unknown, node: OAuth2Provider | null | undefined): TokenSource {
    if (!id) throw new ConfigError('oauth2: OAuth 2.0 authentication needs an OAuth 2.0 configuration');
    if (!node) throw new ConfigError(`oauth2: the OAuth 2.0 configuration ${String(id)} is not deployed`);
    if (!node.tokens) throw new ConfigError(`oauth2: the OAuth 2.0 configuration ${String(id)} cannot work: ${node.configError?.message ?? 'see its error'}`);
    return node.tokens;
}
