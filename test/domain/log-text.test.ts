import assert from 'node:assert/strict';
import { logText, MAX_LOGGED_TEXT } from '../../src/logging/log-text';

describe('logText', () => {
    it('escapes line breaks and other control characters so a value cannot start a forged log line', () => {
        assert.equal(logText('abc\n[error] forged\r\u001b[31m\u2028'), 'abc\\n[error] forged\\r\\u001b[31m\\u2028');
    });

    it('cuts long text to the bound with an ellipsis', () => {
        const shown = logText('x'.repeat(10_000));
        assert.equal(shown.length, MAX_LOGGED_TEXT);
        assert.ok(shown.endsWith('…'));
        assert.equal(logText('abcdef', 4), 'abc…');
    });

    it('leaves ordinary text and unicode as it is', () => {
        assert.equal(logText('Zoë Ñúñez (154) — Sales'), 'Zoë Ñúñez (154) — Sales');
        assert.equal(logText(42), '42');
    });
});
