import { createHash } from 'node:crypto';
import path from 'node:path';

/**
 * Ids kept as they are: letters, digits, `.`, `_` and `-`, not starting with a dot (so never `.`, `..` or a hidden
 * name), and short enough for any file system. Node-RED's ids (16 hex digits, older ones with a `.`) are all of
 * this kind, so state written by 0.1.0 is found where it was.
 */
const READABLE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;
/** Longest encoded id written out in full; longer ones are named by their digest (names stay under 255 bytes). */
const MAX_ENCODED_NAME = 200;

/**
 * The folder name of one node id. Any other id is encoded behind `~`, a character readable ids never hold, so the
 * two kinds cannot meet: `~x` + the hex of its UTF-16 code units (one-to-one on every JS string, lone
 * surrogates included, and lower case only, so a case-insensitive file system cannot fold two together), or `~h` +
 * its SHA-256 when that would be too long a name.
 */
export function nodeStateFolderName(nodeId: string): string {
    if (READABLE_ID.test(nodeId)) return nodeId;
    const encoded = Buffer.from(nodeId, 'utf16le').toString('hex');
    if (encoded.length + 2 <= MAX_ENCODED_NAME) return `~x${encoded}`;
    return `~h${createHash('sha256').update(Buffer.from(nodeId, 'utf16le')).digest('hex')}`;
}

/**
 * The folder where one node of this package keeps its durable files: `<userDir>/ccaas-web-service/<kind>/<name>`,
 * under the user directory so it is backed up and moved with the flows. Node ids come from flow JSON, so any id
 * maps to a strict child of the kind's folder, and distinct ids to distinct folders: deleting one node's state
 * can never reach another's.
 */
export function nodeStateDirectory(userDir: string, kind: 'outbox' | 'calls' | 'oauth2' | 'dead-letters', nodeId: string): string {
    return path.join(userDir, 'ccaas-web-service', kind, nodeStateFolderName(nodeId));
}
