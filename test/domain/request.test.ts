import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { CodedError } from '../../src/errors/coded-error';
import { compileRequest, DEFAULT_USER_AGENT } from '../../src/request/build-request';
import { displayRequest } from '../../src/request/masking';
import type { RequestConfig } from '../../src/request/request-config';

const HOSTILE = `O"Brien & Co = #1 ü 中 'x' /../?`;

function profile(overrides: Partial<RequestConfig>): Partial<RequestConfig> {
    return { url: 'https://crm.example.com/api', method: 'POST', bodyType: 'none', ...overrides };
}

function codeOf(action: () => unknown): string | undefined {
    try {
        action();
    } catch (err) {
        assert.ok(err instanceof CodedError, `expected a CodedError, got ${String(err)}`);
        return err.code;
    }
    return undefined;
}

describe('request building', () => {
    describe('Target URL', () => {
        it('escapes placeholders as a path segment in the path and as a value in the query', () => {
            const request = compileRequest(profile({ url: 'https://crm.example.com/calls/{{callerName}}/log?id={{callId}}&x=1#frag' })).build({
                callId: 'a&b=c',
                callerName: HOSTILE,
            });
            assert.equal(
                request.url,
                "https://crm.example.com/calls/O%22Brien%20%26%20Co%20%3D%20%231%20%C3%BC%20%E4%B8%AD%20'x'%20%2F..%2F%3F/log?id=a%26b%3Dc&x=1",
            );
        });

        it('a URL without placeholders is the same normalised URL for every call, with its Host header', () => {
            const builder = compileRequest(profile({ url: 'HTTPS://CRM.Example.com:8443/a b/./c?x=1 2#frag' }));
            for (const call of [{ callId: 'a' }, { callId: 'b', dnis: '/..' }]) {
                const request = builder.build(call);
                assert.equal(request.url, new URL('https://crm.example.com:8443/a b/./c?x=1 2').href);
                assert.equal(request.url, 'https://crm.example.com:8443/a%20b/c?x=1%202');
                assert.equal(request.headers.host, 'crm.example.com:8443');
            }
            const withParams = compileRequest(profile({ url: 'https://crm.example.com/c?x=1', params: [{ name: 'id', value: '{{callId}}' }] }));
            assert.equal(withParams.build({ callId: 'a b' }).url, 'https://crm.example.com/c?x=1&id=a%20b');
            assert.equal(withParams.build({ callId: 'a b' }).headers.host, 'crm.example.com');
        });

        it('refuses a placeholder in the scheme, host or port on compile, naming the reason', () => {
            for (const url of [
                'https://{{dnis}}.example.com/',
                'https://crm.example.com:{{dnis}}/',
                '{{recordingLink}}',
                'http{{x}}://a/',
                'https://a{{#tags}}b{{/tags}}/',
            ]) {
                assert.throws(
                    () => compileRequest(profile({ url })),
                    (err: CodedError) => err.code === 'config' && /placeholders are not allowed in the scheme, host or port|must start with/.test(err.message),
                    url,
                );
            }
        });

        it('refuses user:password in the URL, a non-http scheme and an empty URL', () => {
            assert.equal(
                codeOf(() => compileRequest(profile({ url: 'https://u:p@crm.example.com/' }))),
                'config',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ url: 'ftp://crm.example.com/' }))),
                'config',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ url: '' }))),
                'config',
            );
        });

        it('reads the structure from literal text: a section tag with "/" stays in the path', () => {
            const request = compileRequest(profile({ url: 'http://h.example/t/{{#agent}}a/{{agent}}{{/agent}}{{^agent}}none{{/agent}}' }));
            assert.equal(request.build({ callId: 'c', agent: 'J/D' }).url, 'http://h.example/t/a/J%2FD');
            assert.equal(request.build({ callId: 'c' }).url, 'http://h.example/t/none');
        });

        it('a call value of ".." as a whole path segment is a url error of that message', () => {
            const builder = compileRequest(profile({ url: 'http://h.example/calls/{{callerName}}' }));
            assert.equal(
                codeOf(() => builder.build({ callId: 'c', callerName: '..' })),
                'url',
            );
        });

        it('a template that does not parse is a template error on compile', () => {
            assert.equal(
                codeOf(() => compileRequest(profile({ url: 'http://h.example/{{callId' }))),
                'template',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ bodyType: 'custom', body: '{"a":"{{#tags}}"}' }))),
                'template',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ headers: [{ name: 'X-A', value: '{{callId' }] }))),
                'template',
            );
        });
    });

    describe('URL parameters', () => {
        it('encodes plain text, placeholders and mixed values so nothing starts a new parameter', () => {
            const request = compileRequest(
                profile({
                    url: 'http://h.example/p?fixed=1',
                    params: [
                        { name: 'plain', value: 'a&b=c #d' },
                        { name: 'caller', value: '{{callerName}}' },
                        { name: 'mixed', value: 'by {{agent}} & more' },
                        { name: 'empty', value: '' },
                        { name: 'na me', value: '{{tags}}' },
                    ],
                }),
            ).build({ ...sampleCall(), callerName: HOSTILE });
            const query = new URL(request.url).search.slice(1);
            assert.equal(
                query,
                'fixed=1&plain=a%26b%3Dc%20%23d&caller=O%22Brien%20%26%20Co%20%3D%20%231%20%C3%BC%20%E4%B8%AD%20%27x%27%20%2F..%2F%3F&mixed=by%20John%20Doe%20(154)%20%26%20more&empty=&na%20me=VIP%2C%20Callback',
            );
            const parsed = new URL(request.url).searchParams;
            assert.equal(parsed.get('caller'), HOSTILE);
            assert.equal(parsed.get('plain'), 'a&b=c #d');
            assert.equal(parsed.get('mixed'), 'by John Doe (154) & more');
            assert.equal(parsed.get('empty'), '');
        });
    });

    describe('headers', () => {
        it('sends every header explicitly, in a fixed order, profile headers overriding defaults', () => {
            const request = compileRequest(
                profile({
                    headers: [
                        { name: 'X-Caller', value: ' {{callerName}} ' },
                        { name: 'Accept', value: 'application/xml' },
                    ],
                }),
            ).build({ callId: 'c', callerName: 'Jane "J" Roe' });
            assert.deepEqual(Object.entries(request.headers), [
                ['host', 'crm.example.com'],
                ['connection', 'keep-alive'],
                ['User-Agent', DEFAULT_USER_AGENT],
                ['X-Caller', 'Jane "J" Roe'],
                ['Accept', 'application/xml'],
                ['Accept-Encoding', 'gzip, deflate, br'],
                ['content-length', '0'],
            ]);
        });

        it('refuses CR/LF or characters beyond Latin-1 from call data, naming the header and the call', () => {
            const builder = compileRequest(profile({ headers: [{ name: 'X-Caller', value: '{{callerName}}' }] }));
            assert.throws(
                () => builder.build({ callId: 'call-7', callerName: 'a\r\nX-Injected: 1' }),
                (err: CodedError) => err.code === 'header' && /header "X-Caller" of call call-7/.test(err.message),
            );
            assert.throws(
                () => builder.build({ callId: 'call-7', callerName: '中' }),
                (err: CodedError) => err.code === 'header' && /U\+4E2D/.test(err.message),
            );
        });

        it('refuses invalid, duplicate and transport-owned header names on compile', () => {
            assert.equal(
                codeOf(() => compileRequest(profile({ headers: [{ name: 'X Bad', value: '' }] }))),
                'config',
            );
            assert.equal(
                codeOf(() =>
                    compileRequest(
                        profile({
                            headers: [
                                { name: 'X-A', value: '1' },
                                { name: 'x-a', value: '2' },
                            ],
                        }),
                    ),
                ),
                'config',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ headers: [{ name: 'Host', value: 'evil.example' }] }))),
                'config',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ headers: [{ name: 'Content-Length', value: '1' }] }))),
                'config',
            );
        });
    });

    describe('bodies', () => {
        it('form: the form parameters, each value form-encoded', () => {
            const request = compileRequest(
                profile({
                    bodyType: 'form',
                    form: [
                        { name: 'caller', value: '{{callerName}}' },
                        { name: 'note', value: 'a+b & c' },
                        { name: 'mix', value: 'id={{callId}}!' },
                    ],
                }),
            ).build({ callId: 'x y', callerName: HOSTILE });
            assert.equal(request.headers['Content-Type'], 'application/x-www-form-urlencoded');
            const text = request.body!.toString('utf8');
            assert.equal(request.headers['content-length'], String(request.body!.length));
            const parsed = new URLSearchParams(text);
            assert.deepEqual(
                [...parsed.entries()],
                [
                    ['caller', HOSTILE],
                    ['note', 'a+b & c'],
                    ['mix', 'id=x y!'],
                ],
            );
        });

        it('custom: escaped for its content type, JSON checked', () => {
            const call = { callId: 'c', callerName: `${HOSTILE}\\"</x>\n` };
            const json = compileRequest(profile({ bodyType: 'custom', contentType: 'application/json', body: '{"caller":"{{callerName}}"}' })).build(call);
            assert.deepEqual(JSON.parse(json.body!.toString('utf8')), { caller: call.callerName });
            assert.equal(json.headers['Content-Type'], 'application/json');
            const xml = compileRequest(profile({ bodyType: 'custom', contentType: 'text/xml', body: '<c n="{{callerName}}"/>' })).build({
                callId: 'c',
                callerName: '<a & "b">',
            });
            assert.equal(xml.body!.toString('utf8'), '<c n="&lt;a &amp; &quot;b&quot;&gt;"/>');
            const bad = compileRequest(profile({ bodyType: 'custom', contentType: 'application/json', body: '{"n": {{callerName}}}' }));
            assert.equal(
                codeOf(() => bad.build({ callId: 'c', callerName: 'x' })),
                'json',
            );
        });

        it('payload: objects as JSON, strings as text, Buffers as they are, nothing when absent', () => {
            const builder = compileRequest(profile({ bodyType: 'payload' }));
            const object = builder.build({ callId: 'c' }, { a: 'ü' });
            assert.equal(object.body!.toString('utf8'), '{"a":"ü"}');
            assert.equal(object.headers['Content-Type'], 'application/json');
            assert.equal(builder.build({ callId: 'c' }, 'hi').headers['Content-Type'], 'text/plain; charset=utf-8');
            assert.deepEqual(builder.build({ callId: 'c' }, Buffer.from([0, 255])).body, Buffer.from([0, 255]));
            const none = builder.build({ callId: 'c' }, undefined);
            assert.equal(none.body, undefined);
            assert.equal(none.headers['Content-Type'], undefined);
            // A POST without a body still says so, as Node's client would.
            assert.equal(none.headers['content-length'], '0');
            assert.equal(compileRequest(profile({ method: 'GET' })).build({ callId: 'c' }).headers['content-length'], undefined);
        });
    });

    describe('secrets', () => {
        it('basic, bearer and API key credentials are sent but shown as ***', () => {
            const basic = compileRequest(profile({ authType: 'basic', apiKeyHeader: 'X-API-Key' }), {
                user: 'svc',
                password: 'pa55-word',
                apiKey: 'key-123456',
            }).build({ callId: 'c' });
            assert.equal(basic.headers.Authorization, `Basic ${Buffer.from('svc:pa55-word').toString('base64')}`);
            assert.equal(basic.headers['X-API-Key'], 'key-123456');
            const shown = displayRequest(basic);
            assert.equal(shown.headers.Authorization, 'Basic ***');
            assert.equal(shown.headers['X-API-Key'], '***');
            assert.doesNotMatch(JSON.stringify(shown), /pa55-word|key-123456|c3ZjOnBhNTUtd29yZA/);
            const bearer = compileRequest(profile({ authType: 'bearer' }), { token: 'tok-987' }).build({ callId: 'c' });
            assert.equal(bearer.headers.Authorization, 'Bearer tok-987');
            assert.equal(displayRequest(bearer).headers.Authorization, 'Bearer ***');
        });

        it('a missing secret or an Authorization header set twice is a config error', () => {
            assert.equal(
                codeOf(() => compileRequest(profile({ authType: 'bearer' }), {})),
                'config',
            );
            assert.equal(
                codeOf(() => compileRequest(profile({ authType: 'bearer', headers: [{ name: 'authorization', value: 'x' }] }), { token: 't' })),
                'config',
            );
        });
    });
});
