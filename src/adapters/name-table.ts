import { ConfigError } from '../errors/coded-error';

/**
 * Ids and ARNs mapped to the names a person reads. Amazon Connect contact events name agents, queues and routing
 * profiles only by ARN or id, and Genesys Cloud events name users, queues and wrap-up codes only by id; the
 * placeholders hold the id itself for whatever the table does not name.
 */
export type NameTable = ReadonlyMap<string, string>;

export const EMPTY_NAME_TABLE: NameTable = new Map();

/** Bounds on the table typed into the node, so a pasted export cannot hold the runtime's memory hostage. */
export const NAME_TABLE_LIMITS = { entries: 10_000, keyLength: 2048, nameLength: 256 } as const;

/**
 * The node's `names` property: a JSON object of id (or ARN) to name, e.g. `{"arn:aws:connect:...:agent/5d1e...":
 * "John Doe (154)"}`. Empty text is an empty table. Throws a ConfigError naming the entry and the problem.
 */
export function parseNameTable(text: string | undefined): NameTable {
    if (text === undefined || !text.trim()) return EMPTY_NAME_TABLE;
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (err) {
        throw new ConfigError(`names: not JSON (${(err as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new ConfigError('names: expected a JSON object of id to name, e.g. {"<agent id or ARN>": "John Doe (154)"}');
    }
    const entries = Object.entries(parsed);
    if (entries.length > NAME_TABLE_LIMITS.entries) {
        throw new ConfigError(`names: ${entries.length} entries, more than the limit of ${NAME_TABLE_LIMITS.entries}`);
    }
    const table = new Map<string, string>();
    for (const [id, name] of entries) {
        if (!id.trim()) throw new ConfigError('names: an entry has an empty id');
        if (id.length > NAME_TABLE_LIMITS.keyLength)
            throw new ConfigError(`names: the id "${id.slice(0, 40)}..." is longer than ${NAME_TABLE_LIMITS.keyLength} characters`);
        if (typeof name !== 'string' || !name.trim()) throw new ConfigError(`names: "${id}" must map to a non-empty string`);
        if (name.length > NAME_TABLE_LIMITS.nameLength)
            throw new ConfigError(`names: the name of "${id}" is longer than ${NAME_TABLE_LIMITS.nameLength} characters`);
        table.set(id.trim(), name.trim());
    }
    return table;
}

/** The name the table gives `id`, else the id itself (so a placeholder still says which agent or queue it was). */
export function nameOrId(table: NameTable, id: string | undefined): string | undefined {
    if (id === undefined) return undefined;
    return table.get(id) ?? id;
}
