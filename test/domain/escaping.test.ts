import assert from 'node:assert/strict';
import { compileTemplate } from '../../src/placeholders/template';
import { sampleCall } from '../../src/call/sample-call';

const HOSTILE = 'O"Brien \\ "x" </a> & b=c #frag ?q \r\n\t\u0001 é 中文 😀 \u2028 \'s';

function callWith(callerName: string): object {
    return { ...sampleCall(), callerName };
}

describe('placeholder escaping', () => {
    it('json: a hostile caller name parses back to exactly itself', () => {
        const template = compileTemplate('{"caller": "{{callerName}}", "id": "{{callId}}"}', 'json');
        const parsed = JSON.parse(template.render(callWith(HOSTILE)));
        assert.deepEqual(parsed, { caller: HOSTILE, id: sampleCall().callId });
    });

    it('json: the issue example O"Brien \\ "x" round-trips', () => {
        const name = 'O"Brien \\ "x"';
        const text = compileTemplate('{"n":"{{callerName}}"}', 'json').render(callWith(name));
        assert.equal(text, '{"n":"O\\"Brien \\\\ \\"x\\""}');
        assert.equal(JSON.parse(text).n, name);
    });

    it('json: lone surrogates and every control character stay valid JSON', () => {
        const name = '\ud800' + Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('');
        const text = compileTemplate('["{{callerName}}"]', 'json').render(callWith(name));
        assert.equal(JSON.parse(text)[0], name);
    });

    it('xml: markup characters become entities and the document keeps its shape', () => {
        const text = compileTemplate('<call caller="{{callerName}}">{{callerName}}</call>', 'xml').render(callWith('a<b>&"c\' d'));
        assert.equal(text, '<call caller="a&lt;b&gt;&amp;&quot;c&apos; d">a&lt;b&gt;&amp;&quot;c&apos; d</call>');
    });

    it('xml: characters XML 1.0 cannot carry are replaced, line breaks kept as references', () => {
        const text = compileTemplate('<n>{{callerName}}</n>', 'xml').render(callWith('a\u0001b\r\nc'));
        assert.equal(text, '<n>a\uFFFDb&#13;&#10;c</n>');
    });

    it('form: & = + # and spaces cannot start a new field', () => {
        const text = compileTemplate('caller={{callerName}}&id={{reportCallId}}', 'form').render(callWith('a&b=c+d #e é'));
        assert.equal(text, 'caller=a%26b%3Dc%2Bd+%23e+%C3%A9&id=40213');
        assert.deepEqual(
            [...new URLSearchParams(text)],
            [
                ['caller', 'a&b=c+d #e é'],
                ['id', '40213'],
            ],
        );
    });

    it('form: a hostile value round-trips through a form parser', () => {
        const text = compileTemplate('caller={{callerName}}', 'form').render(callWith(HOSTILE));
        assert.equal(new URLSearchParams(text).get('caller'), HOSTILE);
    });

    it('url-query: percent-encodes every reserved character', () => {
        const text = compileTemplate('{{callerName}}', 'url-query').render(callWith('a b&c=d#e/f?g'));
        assert.equal(text, 'a%20b%26c%3Dd%23e%2Ff%3Fg');
    });

    it('url-path: a value is one path segment, never a traversal', () => {
        const path = compileTemplate('/calls/{{callerName}}/notes', 'url-path', { where: 'URL' });
        assert.equal(path.render(callWith('../admin')), '/calls/..%2Fadmin/notes');
        assert.equal(path.render(callWith('a b?c#d')), '/calls/a%20b%3Fc%23d/notes');
        // WHATWG URL parsing resolves "%2E%2E" like "..", so no encoding of a dot segment is safe: it is refused.
        for (const dots of ['.', '..']) {
            assert.throws(
                () => path.render(callWith(dots)),
                (err: Error & { code?: string }) => {
                    assert.equal(err.code, 'url');
                    assert.match(
                        err.message,
                        new RegExp(
                            `^URL of call 1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90: the value "${dots.replace(/\./g, '\\.')}" cannot stand as a URL path segment$`,
                        ),
                    );
                    return true;
                },
            );
        }
    });

    it('text: values are inserted as they are', () => {
        assert.equal(compileTemplate('Caller: {{callerName}}', 'text').render(callWith('a<b>&"')), 'Caller: a<b>&"');
    });

    it("never applies Mustache's HTML escaping (a / stays a /)", () => {
        const call = { ...sampleCall(), recordingLink: ['https://rec.example.com/a/b.wav'] };
        for (const format of ['json', 'xml', 'text', 'header'] as const) {
            assert.equal(compileTemplate('{{recordingLink}}', format).render(call), 'https://rec.example.com/a/b.wav', format);
        }
    });

    it('{{{raw}}} and {{& raw}} opt out of escaping', () => {
        const call = callWith('"quoted"');
        assert.equal(compileTemplate('{{{callerName}}}|{{& callerName}}', 'json').render(call), '"quoted"|"quoted"');
    });

    describe('header values', () => {
        it('are sent as they are when an HTTP header can carry them', () => {
            assert.equal(compileTemplate('{{callerName}}', 'header').render(callWith('Ren\u00e9e "R" O\'Hara')), 'Ren\u00e9e "R" O\'Hara');
        });

        it('refuses CR or LF, naming the header and the call, also through {{{raw}}}', () => {
            for (const source of ['{{callerName}}', '{{{callerName}}}']) {
                const template = compileTemplate(source, 'header', { where: 'header "X-Caller"' });
                assert.throws(
                    () => template.render(callWith('Jane\r\nX-Injected: 1')),
                    (err: Error & { code?: string }) => {
                        assert.equal(err.code, 'header');
                        assert.match(err.message, /^header "X-Caller" of call 1e0c9a8e-5b7d-4c3f-9f2a-6d8e4b1c7a90: .*line break/);
                        return true;
                    },
                );
            }
        });

        it('refuses characters outside Latin-1, such as a non-Latin caller name', () => {
            const template = compileTemplate('{{callerName}}', 'header', { where: 'header "X-Caller"' });
            assert.throws(() => template.render(callWith('\u5f20\u4f1f')), /header "X-Caller" of call .*U\+5F20/);
        });
    });
});
