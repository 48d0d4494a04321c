// Node-RED glue of the ccaas-redis config node: one shared Redis connection (src/store/redis) for the call event in
// and web service out nodes whose Store names it.
import type { NodeAPI, NodeDef } from 'node-red';
import { errorText } from '../../errors/error-text';
import { logText } from '../../logging/log-text';
import { ConnectionShare } from '../../store/redis/connection-share';
import type { RedisConnection } from '../../store/redis/redis-connection';
import { registerTestConnectionRoute } from './admin';
import { redisSettingsOf, tlsOptionsFrom, type RedisConfigNode, type RedisNodeCredentials, type RedisNodeProperties } from './config';

/** `, over TLS to the servers and the Sentinels` and the like; empty without TLS. */
function tlsSuffix(tlsTo: { servers: boolean; sentinels: boolean }): string {
    const to = [tlsTo.servers ? 'the servers' : '', tlsTo.sentinels ? 'the Sentinels' : ''].filter(Boolean);
    return to.length === 0 ? '' : `, over TLS to ${to.join(' and ')}`;
}

export = function register(RED: NodeAPI): void {
    const text = (key: string, values?: Record<string, string>): string => RED._(`ccaas-redis.runtime.${key}`, values);

    function RedisNode(this: RedisConfigNode, config: NodeDef & RedisNodeProperties): void {
        RED.nodes.createNode(this, config);
        const node = this;
        let share: ConnectionShare | undefined;
        node.redisUrl = String(config.url ?? '');
        try {
            const settings = redisSettingsOf(
                config,
                (node.credentials ?? {}) as RedisNodeCredentials,
                tlsOptionsFrom((id) => RED.nodes.getNode(id)),
            );
            // Said in sentinel and cluster mode, where no URL scheme says it: a stored secret goes over TLS only where it did.
            const overTls = settings.mode === 'standalone' ? '' : tlsSuffix(settings.tlsTo);
            node.redisUrl =
                settings.mode === 'standalone'
                    ? settings.url
                    : settings.mode === 'sentinel'
                      ? `${settings.masterName} via Sentinel ${settings.sentinels ?? ''}`.trim() + overTls
                      : `cluster ${settings.nodes ?? ''}`.trim() + overTls;
            node.redisTarget = settings.target;
            share = new ConnectionShare(settings, { clientName: `node-red-ccaas-${node.id}` }, (connection) => warnWithoutPersistence(connection));
        } catch (err) {
            node.configError = err as Error;
            node.error(errorText(err));
        }

        // Said once per connection: with no AOF and no RDB a Redis restart forgets every call and queued request, and
        // with fewer replicas than minReplicas every write is refused. In cluster mode, of each shard's primary: a
        // write is as safe as the shard it lands on.
        function warnWithoutPersistence(connection: RedisConnection): void {
            connection.serverInfo().then(
                (info) => {
                    const servers = info.shards ?? [{ ...info, primary: connection.serverAddress ?? '?' }];
                    for (const server of servers) {
                        const where = connection.mode === 'standalone' ? node.redisUrl : `${server.primary} (${node.redisUrl})`;
                        const values = { url: logText(where), version: server.version };
                        if (!server.aof && !server.rdb) node.warn(text('warnings.noPersistence', values));
                        else if (server.aof) node.log(text('log.connectedAof', { ...values, fsync: server.aof.fsync }));
                        else node.log(text('log.connectedRdb', values));
                        const replicas = (server.replicas ?? []).filter((replica) => replica.state === 'online').length;
                        if (replicas < connection.minReplicas) {
                            node.warn(text('warnings.fewReplicas', { ...values, replicas: String(replicas), minReplicas: String(connection.minReplicas) }));
                        }
                    }
                },
                (err: unknown) => node.log(text('log.infoUnavailable', { problem: logText(errorText(err)) })),
            );
        }

        node.acquire = () => {
            if (!share) throw node.configError ?? new Error('ccaas-redis is not configured');
            return share.acquire();
        };

        node.on('close', (done: () => void) => {
            // Users still settling their work keep the connection until they give it back (ConnectionShare).
            void (share?.close() ?? Promise.resolve()).catch(() => undefined);
            done();
        });
    }

    RED.nodes.registerType('ccaas-redis', RedisNode, {
        credentials: { username: { type: 'text' }, password: { type: 'password' }, sentinelPassword: { type: 'password' } },
    });
    registerTestConnectionRoute(RED);
};
