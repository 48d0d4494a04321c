import path from 'node:path';

/**
 * The folder where one node of this package keeps its durable files: `<userDir>/ccaas-web-service/<kind>/<node id>`,
 * under the user directory so it is backed up and moved with the flows. Node ids come from flow JSON: any character
 * that is not safe in a file name is replaced, so an id cannot point outside that folder.
 */
export function nodeStateDirectory(userDir: string, kind: 'outbox' | 'calls', nodeId: string): string {
    return path.join(userDir, 'ccaas-web-service', kind, nodeId.replace(/[^A-Za-z0-9._-]/g, '_'));
}
