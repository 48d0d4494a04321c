import type { NodeAPI } from 'node-red';
import { ConfigError } from '../../errors/coded-error';
import { errorText } from '../../errors/error-text';
import { logText } from '../../logging/log-text';
import { probeRedis } from '../../store/redis/redis-connection';
import { computingAdminRoute } from '../shared/admin-request';
import { redisSettingsOf, tlsOptionsFrom, type RedisNodeCredentials } from './config';

// The editor sends this in place of a password it never received.
const STORED_SECRET = '__PWRD__';

/**
 * `POST /ccaas-redis/test` {id, mode, url, sentinels, masterName, nodes, prefix, tls, useTls, sentinelTls,
 * credentials}: connects once and answers {mode, primary, role, replicas, version, aof, rdb, tls ({servers,
 * sentinels}: what went over TLS), url | masterName | nodes, shards (cluster: each primary with its replicas and
 * persistence)} or {error}. A stored secret only goes where the deployed node
 * connects (the same server, the same Sentinels and primary name, or the same cluster seeds): anyone who may edit
 * flows could otherwise read it by pointing the test at a server of their own.
 */
export function registerTestConnectionRoute(RED: NodeAPI): void {
    RED.httpAdmin.post('/ccaas-redis/test', ...computingAdminRoute(RED, 'ccaas-redis', '/ccaas-redis/test'), (req, res) => {
        const body = (req.body ?? {}) as Record<string, unknown>;
        const id = typeof body.id === 'string' ? body.id : '';
        const dialog = (body.credentials && typeof body.credentials === 'object' ? body.credentials : {}) as Record<string, unknown>;
        const text = (name: string): string => (typeof body[name] === 'string' || typeof body[name] === 'number' ? String(body[name]) : '');
        // A checkbox: the settings check says what is wrong with anything but true, false or nothing.
        const flag = (name: string): boolean | string | undefined => (typeof body[name] === 'boolean' ? body[name] : text(name) || undefined);
        const run = async (): Promise<unknown> => {
            const tls = typeof body.tls === 'string' && body.tls && body.tls !== '_ADD_' ? body.tls : undefined;
            const properties = {
                mode: text('mode'),
                url: text('url'),
                sentinels: text('sentinels'),
                masterName: text('masterName'),
                nodes: text('nodes'),
                prefix: text('prefix'),
                minReplicas: text('minReplicas'),
                replicaWait: text('replicaWait'),
                useTls: flag('useTls'),
                sentinelTls: flag('sentinelTls'),
                tls,
            };
            const tlsOf = tlsOptionsFrom((tlsId) => RED.nodes.getNode(tlsId));
            const entered: RedisNodeCredentials = {};
            const wanted: Array<keyof RedisNodeCredentials> = [];
            for (const field of ['username', 'password', 'sentinelPassword'] as const) {
                const value = dialog[field];
                if (typeof value === 'string' && value !== STORED_SECRET) entered[field] = value;
                else wanted.push(field);
            }
            // Checked with what the dialog holds first, so a wrong field is named before any stored secret is looked at.
            const target = redisSettingsOf(properties, entered, tlsOf).target;
            const stored = (id ? (RED.nodes.getCredentials(id) as RedisNodeCredentials | undefined) : undefined) ?? {};
            const credentials: RedisNodeCredentials = { ...entered };
            for (const field of wanted) {
                if (stored[field] === undefined) continue;
                const deployed = RED.nodes.getNode(id) as { redisUrl?: string; redisTarget?: string } | null;
                if (!deployed?.redisTarget || deployed.redisTarget !== target) {
                    throw new ConfigError(
                        `credentials: the stored ${field} is only sent to ${deployed?.redisUrl || 'the deployed server'}; enter it again to test another server`,
                    );
                }
                credentials[field] = stored[field];
            }
            const settings = redisSettingsOf(properties, credentials, tlsOf);
            const info = await probeRedis(settings);
            return {
                mode: info.mode,
                primary: info.primary,
                role: info.role,
                replicas: info.replicas,
                version: info.version,
                aof: info.aof,
                rdb: info.rdb,
                tls: info.tls,
                minReplicas: settings.minReplicas,
                ...(settings.mode === 'standalone'
                    ? { url: settings.url }
                    : settings.mode === 'sentinel'
                      ? { masterName: settings.masterName }
                      : { nodes: settings.nodes }),
                ...(info.shards ? { shards: info.shards } : {}),
            };
        };
        run().then(
            (answer) => res.json(answer),
            (err: unknown) => res.json({ error: logText(errorText(err), 400) }),
        );
    });
}
