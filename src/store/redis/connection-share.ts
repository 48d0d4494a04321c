import { RedisConnection, type RedisConnectionOptions, type RedisSettings } from './redis-connection';

export interface ConnectionLease {
    readonly connection: RedisConnection;
    /** Gives the share back; the connection closes once the owner closed and every share is back. */
    release(): Promise<void>;
}

/**
 * One Redis connection per config node, shared by the nodes that use it. Node-RED closes a flow's nodes together on
 * a redeploy, the config node among them, while a web service out still settles its requests in flight: the
 * connection stays open until the config node has closed and the last user has given its share back.
 */
export class ConnectionShare {
    private connection: RedisConnection | undefined;
    private users = 0;
    private ownerClosed = false;
    private closing: Promise<void> | undefined;

    constructor(
        private readonly settings: RedisSettings,
        private readonly options: RedisConnectionOptions = {},
        /** Told once per connection, when it first becomes ready (the persistence check). */
        private readonly onFirstReady?: (connection: RedisConnection) => void,
    ) {}

    acquire(): ConnectionLease {
        if (this.ownerClosed) throw new Error('the Redis configuration node was closed');
        if (!this.connection) {
            const connection = new RedisConnection(this.settings, this.options);
            this.connection = connection;
            if (this.onFirstReady) {
                const stop = connection.onChange(() => {
                    if (connection.state !== 'ready') return;
                    stop();
                    this.onFirstReady!(connection);
                });
            }
        }
        const connection = this.connection;
        this.users += 1;
        let released = false;
        return {
            connection,
            release: () => {
                if (released) return this.closing ?? Promise.resolve();
                released = true;
                this.users -= 1;
                return this.closeIfUnused();
            },
        };
    }

    /** The owner (the config node) is closing: the connection ends once no user holds a share. */
    close(): Promise<void> {
        this.ownerClosed = true;
        return this.closeIfUnused();
    }

    private closeIfUnused(): Promise<void> {
        if (!this.ownerClosed || this.users > 0) return this.closing ?? Promise.resolve();
        this.closing ??= this.connection?.close() ?? Promise.resolve();
        return this.closing;
    }
}
