import assert from 'node:assert/strict';
import { sampleCall } from '../../src/call/sample-call';
import type { CriteriaExplanation } from '../../src/criteria/evaluate';
import { catchNode, helper, nodeModule } from '../support/node-red-runtime';

const criteriaFilter = [nodeModule('criteria-filter'), catchNode];

interface Received {
    _msgid?: string;
    payload?: unknown;
    call?: { callId?: string };
    criteria?: CriteriaExplanation;
    error?: { message: string; code: string; source: { id: string } };
}

// Catch nodes only see errors from nodes on their own tab, so every test flow lives on one.
function onTab(nodes: object[]): object[] {
    return [{ id: 'tab', type: 'tab' }, ...nodes.map((node) => ({ z: 'tab', ...node }))];
}

function flow(node: Record<string, unknown>): object[] {
    const outputs = Number(node.outputs ?? 1);
    return onTab([
        { id: 'f1', type: 'criteria-filter', name: '', match: 'all', wires: outputs === 2 ? [['pass'], ['fail']] : [['pass']], ...node },
        { id: 'pass', type: 'helper' },
        { id: 'fail', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: ['f1'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
    ]);
}

/** Collects what reaches each helper; a message that should not arrive is proved absent by a later one that did. */
function collect(ids: string[]): Record<string, Received[]> {
    const seen: Record<string, Received[]> = {};
    for (const id of ids) {
        seen[id] = [];
        helper.getNode(id).on('input', (msg: Received) => seen[id].push(msg));
    }
    return seen;
}

function nextMessage(id: string): Promise<Received> {
    return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

/** Delivery is asynchronous: earlier messages may still be on their way when a later one is sent. */
function messageFor(id: string, callId: string): Promise<Received> {
    return new Promise((resolve) => {
        const node = helper.getNode(id);
        const listener = (msg: Received) => {
            if (msg.call?.callId !== callId) return;
            node.removeListener('input', listener);
            resolve(msg);
        };
        node.on('input', listener);
    });
}

const INBOUND_SALES = [
    { field: 'direction', op: 'eq', value: 'inbound' },
    { field: 'group', op: 'in', value: 'Sales, Support' },
];

const call = (changes: Record<string, unknown>) => ({ ...sampleCall(), ...changes });

describe('criteria filter node', () => {
    before(() => helper.startServer());
    after(() => helper.stopServer());
    afterEach(() => helper.unload());

    it('all, one output: passes the calls meeting every rule with msg.criteria, drops the others', async () => {
        await helper.load(criteriaFilter, flow({ rules: INBOUND_SALES, match: 'all', outputs: 1 }));
        const seen = collect(['pass', 'caught']);
        const node = helper.getNode('f1');
        node.receive({ call: call({ callId: 'a', group: 'Support' }) });
        node.receive({ call: call({ callId: 'b', direction: 'Outbound' }) });
        node.receive({ call: call({ callId: 'c', group: 'Billing' }) });
        const last = messageFor('pass', 'd');
        node.receive({ call: call({ callId: 'd' }) });
        await last;
        assert.deepEqual(
            seen.pass.map((msg) => msg.call?.callId),
            ['a', 'd'],
        );
        assert.deepEqual(seen.pass[0].criteria, {
            matched: true,
            match: 'all',
            rules: [
                { field: 'direction', op: 'eq', value: 'inbound', actual: 'Inbound', passed: true },
                { field: 'group', op: 'in', value: 'Sales, Support', actual: 'Support', passed: true },
            ],
        });
        assert.equal(seen.caught.length, 0);
    });

    it('all, two outputs: the failing calls leave by output 2 with the reason', async () => {
        await helper.load(criteriaFilter, flow({ rules: INBOUND_SALES, match: 'all', outputs: 2 }));
        const seen = collect(['pass', 'fail']);
        const node = helper.getNode('f1');
        const failed = nextMessage('fail');
        node.receive({ call: call({ callId: 'out', direction: 'Outbound' }) });
        const msg = await failed;
        assert.equal(msg.call?.callId, 'out');
        assert.equal(msg.criteria?.matched, false);
        assert.deepEqual(
            msg.criteria?.rules.map((rule) => [rule.actual, rule.passed]),
            [
                ['Outbound', false],
                ['Sales', true],
            ],
        );
        const passed = nextMessage('pass');
        node.receive({ call: call({ callId: 'in' }) });
        assert.equal((await passed).call?.callId, 'in');
        assert.deepEqual(
            seen.pass.map((m) => m.call?.callId),
            ['in'],
        );
        assert.deepEqual(
            seen.fail.map((m) => m.call?.callId),
            ['out'],
        );
    });

    it('any, one output: one rule is enough', async () => {
        await helper.load(
            criteriaFilter,
            flow({
                rules: [
                    { field: 'tags', op: 'contains', value: 'vip' },
                    { field: 'duration', op: 'gt', value: '600' },
                ],
                match: 'any',
                outputs: 1,
            }),
        );
        const seen = collect(['pass']);
        const node = helper.getNode('f1');
        node.receive({ call: call({ callId: 'vip-short' }) });
        node.receive({ call: call({ callId: 'plain-short', tags: [] }) });
        const last = messageFor('pass', 'plain-long');
        node.receive({ call: call({ callId: 'plain-long', tags: ['Callback'], duration: 900 }) });
        await last;
        assert.deepEqual(
            seen.pass.map((msg) => msg.call?.callId),
            ['vip-short', 'plain-long'],
        );
        assert.deepEqual(
            seen.pass[0].criteria?.rules.map((rule) => rule.passed),
            [true, false],
        );
        assert.equal(seen.pass[0].criteria?.match, 'any');
    });

    it('any, two outputs (outputs as the editor stores it, a string)', async () => {
        await helper.load(
            criteriaFilter,
            flow({
                rules: [
                    { field: 'agent', op: 'regex', value: '\\(15\\d\\)$' },
                    { field: 'event', op: 'eq', value: 'updated' },
                ],
                match: 'any',
                outputs: '2',
            }),
        );
        const node = helper.getNode('f1');
        const failed = nextMessage('fail');
        node.receive({ call: call({ callId: 'x', agent: 'Ann (201)' }) });
        const msg = await failed;
        assert.equal(msg.criteria?.matched, false);
        const passed = nextMessage('pass');
        node.receive({ call: call({ callId: 'y', agent: 'Ann (201)', event: 'updated' }) });
        assert.deepEqual(
            (await passed).criteria?.rules.map((rule) => rule.passed),
            [false, true],
        );
    });

    it('no rules: every call passes', async () => {
        await helper.load(criteriaFilter, flow({ rules: [], outputs: 1 }));
        const passed = nextMessage('pass');
        helper.getNode('f1').receive({ call: { callId: 'bare' } });
        assert.deepEqual((await passed).criteria, { matched: true, match: 'all', rules: [] });
    });

    it('a message without msg.call is a Catch-able error, not dropped', async () => {
        await helper.load(criteriaFilter, flow({ rules: INBOUND_SALES, outputs: 2 }));
        const seen = collect(['pass', 'fail']);
        const caught = nextMessage('caught');
        helper.getNode('f1').receive({ payload: 'no call' });
        const msg = await caught;
        assert.equal(msg.payload, 'no call');
        assert.equal(msg.error?.code, 'input');
        assert.match(msg.error?.message ?? '', /^msg\.call is missing/);
        assert.equal(msg.error?.source.id, 'f1');
        assert.equal(seen.pass.length + seen.fail.length, 0);
    });

    it('a template value that renders a non-number is an error on that message', async () => {
        await helper.load(criteriaFilter, flow({ rules: [{ field: 'duration', op: 'lt', value: '{{agentExtension}}' }], outputs: 1 }));
        const caught = nextMessage('caught');
        helper.getNode('f1').receive({ call: call({ agentExtension: 'ext' }) });
        const msg = await caught;
        assert.equal(msg.error?.code, 'input');
        assert.match(msg.error?.message ?? '', /^rule 1 value "\{\{agentExtension\}\}" of call .* rendered "ext" is not a number$/);
    });

    it('invalid rules: red status naming the rule on deploy, and a Catch-able error on each message', async () => {
        const rules = [
            { field: 'direction', op: 'eq', value: 'Inbound' },
            { field: 'callerName', op: 'regex', value: '(?<=Mr)x' },
            { field: 'colour', op: 'eq', value: 'red' },
        ];
        await helper.load(criteriaFilter, flow({ rules, outputs: 2 }));
        const node = helper.getNode('f1') as unknown as { status: (s: unknown) => void; receive: (msg: object) => void };
        // The status was set in the constructor, before the test could watch it; the log carries the same problems.
        const logged = helper.log().args.map((args) => args[0] as { level: number; msg: unknown; id?: string });
        const problems = 'rule 2: invalid regex: lookahead and lookbehind are not supported at position 1; rule 3: unknown field "colour"';
        assert.ok(
            logged.some((entry) => entry.id === 'f1' && String(entry.msg) === problems),
            JSON.stringify(logged),
        );
        const seen = collect(['pass', 'fail']);
        const caught = nextMessage('caught');
        node.receive({ call: sampleCall() });
        const msg = await caught;
        assert.equal(msg.error?.code, 'config');
        assert.equal(msg.error?.message, problems);
        assert.equal(seen.pass.length + seen.fail.length, 0);
    });

    it('the red status on deploy names the first problem', async () => {
        // The status is set while the node is created; the runtime's event bus (the one the helper itself waits on
        // for flows:started) carries it to the editor, so that is where to watch it.
        const events = (helper as unknown as { _events: NodeJS.EventEmitter })._events;
        const statuses: Array<{ id: string; text: unknown; fill: unknown }> = [];
        const listener = (event: { id: string; status: { text?: unknown; fill?: unknown } }) => {
            statuses.push({ id: event.id, text: event.status?.text, fill: event.status?.fill });
        };
        events.on('node-status', listener);
        try {
            await helper.load(criteriaFilter, flow({ rules: [{ field: 'duration', op: 'gt', value: 'long' }], outputs: 1 }));
        } finally {
            events.off('node-status', listener);
        }
        assert.deepEqual(
            statuses.filter((status) => status.id === 'f1'),
            [{ id: 'f1', text: 'rule 1: "long" is not a number', fill: 'red' }],
        );
    });

    it('"agentExtension gte 200" deploys; a call whose extension is not a number fails with the reason', async () => {
        await helper.load(criteriaFilter, flow({ rules: [{ field: 'agentExtension', op: 'gte', value: '200' }], outputs: 2 }));
        const passed = messageFor('pass', 'ext-250');
        const failed = messageFor('fail', 'ext-abc');
        helper.getNode('f1').receive({ call: { callId: 'ext-250', agentExtension: '250' } });
        helper.getNode('f1').receive({ call: { callId: 'ext-abc', agentExtension: 'abc' } });
        assert.equal((await passed).criteria?.matched, true);
        assert.deepEqual((await failed).criteria?.rules, [
            { field: 'agentExtension', op: 'gte', value: '200', actual: 'abc', passed: false, reason: '"abc" is not a number' },
        ]);
    });

    it('a regex rule on a value longer than its input bound fails with the reason, not a partial test', async () => {
        await helper.load(criteriaFilter, flow({ rules: [{ field: 'callerName', op: 'regex', value: 'Roe$' }], outputs: 2 }));
        const failed = messageFor('fail', 'long-name');
        helper.getNode('f1').receive({ call: { callId: 'long-name', callerName: `${'x'.repeat(5000)} Roe` } });
        const rule = (await failed).criteria?.rules[0];
        assert.equal(rule?.passed, false);
        assert.equal(rule?.reason, 'the value is 5004 characters, over the 4096 a regex is tested on');
    });

    it('serves the operator table and checks rules with the runtime compiler', async () => {
        await helper.load(criteriaFilter, flow({ rules: [], outputs: 1 }));
        const operators = await helper.request().get('/criteria-filter/operators').expect(200);
        const gt = operators.body.operators.find((info: { op: string }) => info.op === 'gt');
        assert.deepEqual(gt.kinds, ['number', 'time', 'text']);
        assert.equal(operators.body.operators.length, 15);
        const ok = await helper.request().post('/criteria-filter/check').send({ rules: INBOUND_SALES, match: 'all', outputs: 1 }).expect(200);
        assert.deepEqual(ok.body, { problems: [] });
        const bad = await helper
            .request()
            .post('/criteria-filter/check')
            .send({
                rules: [
                    { field: 'tags', op: 'gt', value: '1' },
                    { field: 'agent', op: 'regex', value: 'a{2' },
                    { field: 'agent', op: 'regex', value: '(a' },
                ],
            })
            .expect(200);
        assert.deepEqual(bad.body.problems, [
            { rule: 1, message: 'rule 1: operator "gt" does not fit list field "tags"' },
            { rule: 3, message: 'rule 3: invalid regex: unterminated group at position 1' },
        ]);
        const fields = await helper.request().get('/ccaas-web-service/call-fields').expect(200);
        assert.ok(fields.body.fields.some((field: { name: string; kind: string }) => field.name === 'duration' && field.kind === 'number'));
    });
});
