import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import { catchNode, nodeModule, helper } from '../support/node-red-runtime';

const placeholderTemplate = [nodeModule('placeholder-template'), catchNode];

interface Received {
    payload?: unknown;
    call?: unknown;
    [key: string]: unknown;
}

// Catch nodes only see errors from nodes on their own tab, so every test flow lives on one.
function onTab(nodes: object[]): object[] {
    return [{ id: 'tab', type: 'tab' }, ...nodes.map((node) => ({ z: 'tab', ...node }))];
}

function flow(node: Record<string, unknown>): object[] {
    return onTab([
        { id: 't1', type: 'placeholder-template', name: '', property: 'payload', output: 'parsed', wires: [['out']], ...node },
        { id: 'out', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: ['t1'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
    ]);
}

function nextMessage(id: string): Promise<Received> {
    return new Promise((resolve) => helper.getNode(id).on('input', resolve));
}

describe('placeholder template node', () => {
    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(() => helper.unload());

    it('renders JSON from msg.call into msg.payload as a parsed object', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'json', template: '{"id":"{{callId}}","caller":"{{callerName}}","codes":"{{accountCodes}}"}' }));
        const received = nextMessage('out');
        const call = { ...sampleCall(), callerName: 'O"Brien \\ "x"' };
        helper.getNode('t1').receive({ call, payload: 'before' });
        const msg = await received;
        assert.deepEqual(msg.payload, { id: call.callId, caller: 'O"Brien \\ "x"', codes: 'Opp Won, Large Sale' });
        assert.deepEqual(msg.call, call);
    });

    it('gives the JSON text when output is string, into the chosen property', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'json', output: 'string', property: 'body.json', template: '{"a":"{{agent}}"}' }));
        const received = nextMessage('out');
        helper.getNode('t1').receive({ call: sampleCall() });
        const msg = await received;
        assert.deepEqual(msg.body, { json: '{"a":"John Doe (154)"}' });
    });

    it('renders XML and form bodies as escaped strings', async () => {
        await helper.load(placeholderTemplate, [
            { id: 'x', type: 'placeholder-template', format: 'xml', template: '<c n="{{callerName}}"/>', wires: [['out']] },
            { id: 'f', type: 'placeholder-template', format: 'form', template: 'n={{callerName}}&t={{tags}}', wires: [['out2']] },
            { id: 'out', type: 'helper' },
            { id: 'out2', type: 'helper' },
        ]);
        const xml = nextMessage('out');
        const form = nextMessage('out2');
        const call = { ...sampleCall(), callerName: 'A&B <"C">' };
        helper.getNode('x').receive({ call });
        helper.getNode('f').receive({ call });
        assert.equal((await xml).payload, '<c n="A&amp;B &lt;&quot;C&quot;&gt;"/>');
        assert.equal((await form).payload, 'n=A%26B+%3C%22C%22%3E&t=VIP%2C+Callback');
    });

    it('a message without msg.call is a Catch-able error, not a crash', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'text', template: '{{callId}}' }));
        const caught = nextMessage('caught');
        helper.getNode('t1').receive({ payload: 'no call here', _msgid: 'm1' });
        const msg = (await caught) as Received & { error: { message: string; code: string; source: { id: string } } };
        assert.equal(msg.payload, 'no call here');
        assert.equal(msg.error.code, 'input');
        assert.match(msg.error.message, /msg\.call is missing/);
        assert.equal(msg.error.source.id, 't1');
    });

    it('a JSON template that renders invalid JSON is an error on that message', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'json', template: '{"caller": {{callerName}}}' }));
        const caught = nextMessage('caught');
        helper.getNode('t1').receive({ call: sampleCall() });
        const msg = (await caught) as Received & { error: { message: string; code: string } };
        assert.match(msg.error.message, /^placeholder template: the rendered text is not valid JSON/);
        assert.equal(msg.error.code, 'json');
    });

    it('a template that does not parse shows a red status on deploy and errors each message', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'json', template: '{\n"a": "{{callId"\n}' }));
        const node = helper.getNode('t1');
        const caught = nextMessage('caught');
        node.receive({ call: sampleCall() });
        const msg = (await caught) as Received & { error: { message: string } };
        assert.equal(msg.error.message, 'template: unclosed tag at line 2, column 7');
        const logged = helper.log().args.map((args) => args[0] as { level: number; msg: unknown; id?: string });
        assert.ok(logged.some((entry) => entry.id === 't1' && String(entry.msg) === 'template: unclosed tag at line 2, column 7'));
    });

    it('serves the preview the edit dialog shows, with the same rendering', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'text', template: '' }));
        const ok = await helper
            .request()
            .post('/placeholder-template/preview')
            .send({ template: '{"a":"{{callerName}}","x":"{{calId}}"}', format: 'json' })
            .expect(200);
        assert.deepEqual(JSON.parse(ok.body.output), { a: 'Jane Roe', x: '' });
        assert.deepEqual(ok.body.unknownNames, ['calId']);
        const bad = await helper.request().post('/placeholder-template/preview').send({ template: '{{#tags}}', format: 'text' }).expect(200);
        assert.equal(bad.body.error, 'template: unclosed section "tags" at line 1, column 1');
        assert.equal(bad.body.code, 'template');
    });

    it('serves the placeholder table and the Mustache build to the editor', async () => {
        await helper.load(placeholderTemplate, flow({ format: 'text', template: '' }));
        const fields = await helper.request().get('/ccaas-web-service/call-fields').expect(200);
        assert.equal(fields.body.fields.find((field: { name: string }) => field.name === 'agentExtension').label, 'Agent Extension');
        assert.equal(fields.body.events.length, 5);
        assert.equal(fields.body.sampleCall.callId, sampleCall().callId);
        const script = await helper.request().get('/ccaas-web-service/mustache.js').expect(200);
        assert.match(String(script.headers['content-type']), /javascript/);
        assert.match(script.text, /mustache/);
    });
});
