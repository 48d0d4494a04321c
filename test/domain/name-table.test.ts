import assert from 'node:assert/strict';
import { EMPTY_NAME_TABLE, NAME_TABLE_LIMITS, nameOrId, parseNameTable } from '../../src/adapters/name-table';
import { ConfigError } from '../../src/errors/coded-error';

function refusal(text: string): string {
    try {
        parseNameTable(text);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
        return err.message;
    }
    assert.fail(`accepted ${text.slice(0, 80)}`);
}

describe('name table (ids and ARNs to names)', () => {
    it('reads a JSON object of id to name, trimming both', () => {
        const table = parseNameTable('{" arn:aws:connect:us-east-1:1:instance/i/agent/a1 ": " John Doe (154) ", "q-7": "Sales"}');
        assert.deepEqual(
            [...table],
            [
                ['arn:aws:connect:us-east-1:1:instance/i/agent/a1', 'John Doe (154)'],
                ['q-7', 'Sales'],
            ],
        );
    });

    it('takes empty text, or none, as an empty table', () => {
        assert.equal(parseNameTable(undefined), EMPTY_NAME_TABLE);
        assert.equal(parseNameTable('  \n'), EMPTY_NAME_TABLE);
        assert.equal(parseNameTable('').size, 0);
    });

    it('gives the name, else the id itself, else nothing', () => {
        const table = parseNameTable('{"u-1": "Ann Lee"}');
        assert.equal(nameOrId(table, 'u-1'), 'Ann Lee');
        assert.equal(nameOrId(table, 'u-2'), 'u-2');
        assert.equal(nameOrId(table, undefined), undefined);
    });

    it('names the problem: not JSON, not an object, an empty id, a name that is not a non-empty string', () => {
        assert.match(refusal('{"a": '), /^names: not JSON \(/);
        assert.equal(refusal('["a"]'), 'names: expected a JSON object of id to name, e.g. {"<agent id or ARN>": "John Doe (154)"}');
        assert.equal(refusal('"a"'), 'names: expected a JSON object of id to name, e.g. {"<agent id or ARN>": "John Doe (154)"}');
        assert.equal(refusal('{" ": "x"}'), 'names: an entry has an empty id');
        assert.equal(refusal('{"a": ""}'), 'names: "a" must map to a non-empty string');
        assert.equal(refusal('{"a": {"name": "x"}}'), 'names: "a" must map to a non-empty string');
    });

    it('refuses a table over its bounds: entries, id length, name length', () => {
        const many = Object.fromEntries(Array.from({ length: NAME_TABLE_LIMITS.entries + 1 }, (_, i) => [`id-${i}`, 'x']));
        assert.equal(refusal(JSON.stringify(many)), `names: ${NAME_TABLE_LIMITS.entries + 1} entries, more than the limit of ${NAME_TABLE_LIMITS.entries}`);
        const longId = 'a'.repeat(NAME_TABLE_LIMITS.keyLength + 1);
        assert.equal(
            refusal(JSON.stringify({ [longId]: 'x' })),
            `names: the id "${'a'.repeat(40)}..." is longer than ${NAME_TABLE_LIMITS.keyLength} characters`,
        );
        assert.equal(
            refusal(JSON.stringify({ a: 'n'.repeat(NAME_TABLE_LIMITS.nameLength + 1) })),
            `names: the name of "a" is longer than ${NAME_TABLE_LIMITS.nameLength} characters`,
        );
        const atLimit = Object.fromEntries(Array.from({ length: NAME_TABLE_LIMITS.entries }, (_, i) => [`id-${i}`, 'x']));
        assert.equal(parseNameTable(JSON.stringify(atLimit)).size, NAME_TABLE_LIMITS.entries);
    });
});
