// msg.response's body: decoded as text by its charset, the way TextDecoder decodes it, whichever path does the work.
import assert from 'node:assert/strict';
import { responsePayload, viewResponse } from '../../src/delivery/response-body';

function view(body: Buffer, contentType?: string) {
    return viewResponse({ statusCode: 200, statusMessage: 'OK', headers: contentType ? { 'content-type': contentType } : {}, body, timeMs: 1 });
}

describe('response body', () => {
    it('decodes UTF-8 exactly as TextDecoder does: invalid bytes, a lone surrogate, a BOM', () => {
        const bodies = [
            Buffer.from('{"ok":true,"name":"Zoë 中"}'),
            Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0xe2, 0x82, 0x63, 0xf0, 0x9f, 0x98]),
            Buffer.from([0xed, 0xa0, 0x80, 0x41]),
            Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
            Buffer.from([0xef, 0xbb]),
            Buffer.alloc(0),
        ];
        for (const body of bodies) {
            for (const contentType of [undefined, 'application/json', 'text/plain; charset=UTF-8', 'text/xml; charset="utf8"']) {
                assert.equal(view(body, contentType).body, new TextDecoder('utf-8').decode(body), `${body.toString('hex')} as ${contentType}`);
            }
        }
    });

    it('decodes another charset by its label, an unknown label as UTF-8, and keeps a binary body as bytes', () => {
        assert.equal(view(Buffer.from([0x5a, 0x6f, 0xeb]), 'text/plain; charset=iso-8859-1').body, 'Zoë');
        assert.equal(view(Buffer.from('Zoë'), 'text/plain; charset=no-such-charset').body, 'Zoë');
        const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
        assert.deepEqual(view(png, 'image/png').body, png);
    });

    it('msg.payload is the parsed JSON when the response says it is JSON', () => {
        assert.deepEqual(responsePayload(view(Buffer.from('{"id":7}'), 'application/problem+json')), { id: 7 });
        assert.equal(responsePayload(view(Buffer.from('not json'), 'application/json')), 'not json');
        assert.equal(responsePayload(view(Buffer.from('{"id":7}'), 'text/plain')), '{"id":7}');
    });
});
