// node-red-node-test-helper, started once for the whole run against the Node-RED installed as a dev dependency.
import helper from 'node-red-node-test-helper';
import path from 'node:path';

helper.init(require.resolve('node-red'), { telemetry: { enabled: false } } as Record<string, unknown>);

/**
 * A node's runtime module, loaded from its TypeScript source (tsx compiles it on the fly), so node tests never
 * depend on a build. The compiled package is exercised by test/package/.
 */
export function nodeModule(name: string): unknown {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.resolve(__dirname, '../../src/nodes', `${name}.ts`));
}

/** Node-RED's own Catch node, loaded beside ours to prove errors are Catch-able. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const catchNode: unknown = require('@node-red/nodes/core/common/25-catch.js');

export { helper };
