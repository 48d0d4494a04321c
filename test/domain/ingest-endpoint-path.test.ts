import assert from 'node:assert/strict';
import fc from 'fast-check';
import { endpointPath, requestPathSpellings } from '../../src/ingest/endpoint-path';

// Express 4's own route compiler (the one Node-RED 4 routes string paths with), to check our pattern against it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const expressPathRegexp = require('path-to-regexp') as (path: string, keys: unknown[], options: object) => RegExp;
const expressMatches = (route: string, requestPath: string): boolean =>
    expressPathRegexp(route, [], { sensitive: false, strict: false, end: true }).test(requestPath);

// Characters the editor allows in a path that Express also reads as plain text (":" and "*" are route syntax there).
const segment = fc.stringMatching(/^[A-Za-z0-9_.~-]{1,6}$/);
const configuredPath = fc
    .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([parts, slash]) => `/${parts.join('/')}${slash ? '/' : ''}`);
const flipCase = (text: string, flips: boolean[]): string =>
    [...text].map((char, index) => (flips[index % flips.length] ? (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()) : char)).join('');
const spellingOf = (path: string) =>
    fc
        .tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.constantFrom('', '/', '//', 'x', '/x'))
        .map(([flips, tail]) => `${flipCase(path.replace(/\/$/, ''), flips)}${tail}`);

describe('endpoint paths: the route, the body capture and the duplicate check agree with Express', () => {
    it('the route matches exactly the request paths Express would route to the same string path', () => {
        fc.assert(
            fc.property(
                configuredPath.chain((path) => fc.tuple(fc.constant(path), spellingOf(path))),
                ([path, requestPath]) => endpointPath(path).route.test(requestPath) === expressMatches(path, requestPath),
            ),
            { numRuns: 300 },
        );
    });

    it('two paths have the same key exactly when Express routes each one to the other', () => {
        fc.assert(
            fc.property(
                configuredPath.chain((path) => fc.tuple(fc.constant(path), fc.oneof(configuredPath, spellingOf(path)))),
                ([a, b]) => {
                    const same = expressMatches(a, b) && expressMatches(b, a);
                    return (endpointPath(a).key === endpointPath(b).key) === same;
                },
            ),
            { numRuns: 300 },
        );
    });

    it('the full path (httpNodeRoot included) matches every spelling the mounted route serves', () => {
        const endpoint = endpointPath('ccaas/call-events', '/hooks/');
        for (const spelling of ['/hooks/ccaas/call-events', '/HOOKS/Ccaas/Call-Events/', '/hooks/ccaas/call-events/'])
            assert.ok(endpoint.matchesFullPath(spelling), spelling);
        for (const other of ['/ccaas/call-events', '/hooks/ccaas/call-events/x', '/hooks/%63caas/call-events', '/hooksccaas/call-events'])
            assert.ok(!endpoint.matchesFullPath(other), other);
        assert.equal(endpoint.path, '/ccaas/call-events');
        assert.ok(endpointPath('/a', '/').matchesFullPath('/A/'));
    });

    it('":" and "*" are plain characters of the path, not parameters', () => {
        const endpoint = endpointPath('/calls/:tenant/*');
        assert.ok(endpoint.route.test('/calls/:tenant/*'));
        assert.ok(!endpoint.route.test('/calls/acme/x'));
    });

    it('reads the request path as Express does: query and fragment cut, nothing decoded; an absolute target by its path', () => {
        assert.deepEqual(requestPathSpellings('/Ccaas/Call-Events/?a=1'), ['/Ccaas/Call-Events/']);
        assert.deepEqual(requestPathSpellings('/ccaas/call-events#x'), ['/ccaas/call-events']);
        assert.deepEqual(requestPathSpellings('/%63caas/call-events'), ['/%63caas/call-events']);
        assert.deepEqual(requestPathSpellings('http://example.com/ccaas/call-events?x'), ['/ccaas/call-events']);
    });
});
