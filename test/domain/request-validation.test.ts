// The check the web service out dialog asks the runtime (src/request/validation.ts): the answers are those of the
// compilers the node deploys with, so the dialog accepts exactly what deploys.
import assert from 'node:assert/strict';
import { CodedError } from '../../src/errors/coded-error';
import { parseRetries } from '../../src/delivery/retry-schedule';
import { compileUrl } from '../../src/request/url-template';
import { settingProblems } from '../../src/request/validation';

function deployError(compile: () => unknown): string | undefined {
    try {
        compile();
        return undefined;
    } catch (err) {
        assert.ok(err instanceof CodedError);
        return err.message;
    }
}

describe('settingProblems (the dialog check of Target URL and retries)', () => {
    it('names each problem the deploy names, by field, without the field prefix of the deploy error', () => {
        const cases: Array<[string, string]> = [
            ['https://{{dnis}}.crm.example.com/calls', 'none'],
            ['ftp://crm.example.com/calls', 'none'],
            ['https://user:pw@crm.example.com/calls', 'none'],
            ['https://crm.example.com/calls/{{#callId}}', 'none'],
            ['{{oauth.instanceUrl}}/services/data', 'none'],
        ];
        for (const [url, authType] of cases) {
            const deployed = deployError(() => compileUrl(url, { providerOrigin: authType === 'oauth2' }));
            assert.ok(deployed, url);
            assert.deepEqual(settingProblems({ url, authType }), [{ field: 'url', problem: deployed.replace(/^url: /, '') }], url);
        }
        const retries = deployError(() => parseRetries('1s, soon'))!;
        assert.deepEqual(settingProblems({ retries: '1s, soon' }), [{ field: 'retries', problem: retries.slice('retries: '.length) }]);
        assert.deepEqual(settingProblems({ retries: '1s, soon' })[0]!.problem, '"soon" is not a duration like 30s, 2m or 1h');
        assert.deepEqual(
            settingProblems({ url: 'https://{{a}}/x', retries: '9d' }).map((each) => each.field),
            ['url', 'retries'],
        );
    });

    it('accepts what deploys: the provider origin with OAuth 2.0, placeholders in path and query, the retry forms', () => {
        assert.deepEqual(settingProblems({ url: '{{oauth.instanceUrl}}/services/data/v60.0/sobjects/Task', authType: 'oauth2' }), []);
        assert.deepEqual(settingProblems({ url: 'https://crm.example.com/calls/{{callId}}?agent={{agent}}', authType: 'none' }), []);
        for (const retries of ['', 'none', '0.5, 2s, 1m', '1s, 5s, 30s, 2m, 10m, 1h, 3h, 6h, 10h']) assert.deepEqual(settingProblems({ retries }), [], retries);
    });

    it('leaves alone what it is not given: an empty URL (Node-RED requires one) and a missing schedule (the default applies)', () => {
        assert.deepEqual(settingProblems({}), []);
        assert.deepEqual(settingProblems({ url: '   ' }), []);
    });
});
