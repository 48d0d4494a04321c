import type { NodeAPI } from 'node-red';
import { ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import { logText } from '../../logging/log-text';
import { parseRedisUrl, probeRedis } from '../../store/redis/redis-connection';
import { computingAdminRoute } from '../shared/admin-request';
import { redisSettingsOf, tlsOptionsFrom, type RedisNodeCredentials } from './config';

// The editor sends this in place of a password it never received.
const STORED_SECRET = '__PWRD__';

function sameServer(a: string, b: string): boolean {
    try {
        const left = parseRedisUrl(a);
        const right = parseRedisUrl(b);
        return left.host === right.host && left.port === right.port && left.tls === right.tls;
    } catch {
        return false;
    }
}

/**
 * `POST /ccaas-redis/test` {id, url, prefix, credentials}: connects once and answers {version, aof, rdb} or
 * {error}. A stored password only goes to the server the deployed node uses: anyone who may edit flows could
 * otherwise read it by pointing the test at a server of their own.
 */
export function registerTestConnectionRoute(RED: NodeAPI): void {
    RED.httpAdmin.post('/ccaas-redis/test', ...computingAdminRoute(RED, 'ccaas-redis', '/ccaas-redis/test'), (req, res) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const url = String(body.url ?? '');
        const id = typeof body.id === 'string' ? body.id : '';
        const dialog = (body.credentials && typeof body.credentials === 'object' ? body.credentials : {}) as Record<string, unknown>;
        const run = async (): Promise<unknown> => {
            const stored = (id ? (RED.nodes.getCredentials(id) as RedisNodeCredentials | undefined) : undefined) ?? {};
            const credentials: RedisNodeCredentials = {};
            for (const field of ['username', 'password'] as const) {
                const value = dialog[field];
                if (typeof value === 'string' && value !== STORED_SECRET) credentials[field] = value;
                else if (stored[field] !== undefined) {
                    const deployed = (RED.nodes.getNode(id) as { redisUrl?: string } | null)?.redisUrl;
                    if (!deployed || !sameServer(deployed, url || 'redis://127.0.0.1:6379')) {
                        throw new ConfigError(
                            `credentials: the stored ${field} is only sent to ${deployed ?? 'the deployed server'}; enter it again to test another server`,
                        );
                    }
                    credentials[field] = stored[field];
                }
            }
            const tls = typeof body.tls === 'string' && body.tls && body.tls !== '_ADD_' ? body.tls : undefined;
            const settings = redisSettingsOf(
                { url, prefix: String(body.prefix ?? ''), tls },
                credentials,
                tlsOptionsFrom((tlsId) => RED.nodes.getNode(tlsId)),
            );
            const info = await probeRedis(settings);
            return { version: info.version, aof: info.aof, rdb: info.rdb, url: settings.url };
        };
        run().then(
            (answer) => res.json(answer),
            (err: unknown) => res.json({ error: logText(errorText(err), 400) }),
        );
    });
}
