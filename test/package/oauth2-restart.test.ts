// A rotated refresh token across a restart of a real Node-RED process with the package installed (issue 20): the
// provider accepts only the refresh token it issued last, so a restart that went back to the token in the flow's
// credentials would fail with invalid_grant. Needs `npm run build`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startNodeRed, userDirWithPackage, type NodeRedProcess } from '../support/node-red-process';
import { startProvider, type Provider } from '../support/oauth2-provider';
import { until } from '../support/wait';

describe('ccaas-oauth2: a rotated refresh token survives a restart (real Node-RED)', function () {
    this.timeout(120_000);
    let nodeRed: NodeRedProcess | undefined;
    let provider: Provider;
    let target: http.Server;
    let targetUrl = '';
    /** Status answered per request: 200 for the token the provider issued last, 401 otherwise. */
    const answers: number[] = [];

    before(async () => {
        provider = await startProvider();
        target = http.createServer((req, res) => {
            req.resume();
            req.on('end', () => {
                const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
                const status = token && token === provider.issued.at(-1) ? 200 : 401;
                answers.push(status);
                res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
            });
        });
        await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
        targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    });
    after(async () => {
        await nodeRed?.stop();
        target.closeAllConnections();
        await new Promise((resolve) => target.close(resolve));
        await provider.stop();
    });

    /** A full deploy through the admin API, credentials included, as the editor does it. */
    async function deploy(red: NodeRedProcess, refreshToken: string): Promise<void> {
        const flows = [
            { id: 'tab', type: 'tab', label: 'oauth2' },
            {
                id: 'oa',
                type: 'ccaas-oauth2',
                name: 'crm',
                tokenUrl: provider.tokenUrl,
                grant: 'refresh_token',
                clientAuth: 'basic',
                scope: '',
                audience: '',
                credentials: { clientId: provider.clientId, clientSecret: provider.clientSecret, refreshToken },
            },
            // Fires once on every start, so each start needs a token (the cache is memory only).
            {
                id: 'go',
                z: 'tab',
                type: 'inject',
                props: [{ p: 'call', v: '{"callId":"restart-1"}', vt: 'json' }],
                repeat: '',
                once: true,
                onceDelay: 0.5,
                topic: '',
                wires: [['ws']],
            },
            {
                id: 'ws',
                z: 'tab',
                type: 'web-service-out',
                url: `${targetUrl}/calls/{{callId}}`,
                method: 'POST',
                bodyType: 'none',
                params: [],
                headers: [],
                form: [],
                retries: '',
                authType: 'oauth2',
                oauth2: 'oa',
                wires: [[]],
            },
        ];
        const response = await fetch(`${red.url}/flows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' },
            body: JSON.stringify(flows),
            signal: AbortSignal.timeout(10_000),
        });
        assert.equal(response.status, 204, await response.text());
    }

    it('the token rotated before the restart is the one used after it; a token entered later wins over it', async () => {
        const userDir = userDirWithPackage();
        nodeRed = await startNodeRed({ userDir, flows: [] });
        await deploy(nodeRed, 'refresh-token-0');
        await until(
            () => answers.length === 1,
            () => `answers ${JSON.stringify(answers)}; log:\n${nodeRed!.log()}`,
            20_000,
        );
        assert.deepEqual(answers, [200]);
        assert.equal(provider.seen[0]!.form.refresh_token, 'refresh-token-0');
        const rotated = provider.refreshToken;
        const kept = path.join(userDir, 'ccaas-web-service', 'oauth2', 'oa', 'refresh-token.json');
        await until(
            () => fs.existsSync(kept),
            () => `${kept} was not written`,
            5000,
        );
        assert.ok(!fs.readFileSync(kept, 'latin1').includes(rotated), 'the kept refresh token is encrypted');

        await nodeRed.stop();
        nodeRed = await startNodeRed({ userDir });
        await until(
            () => answers.length === 2,
            () => `answers ${JSON.stringify(answers)}; log:\n${nodeRed!.log()}`,
            20_000,
        );
        assert.equal(provider.seen[1]!.form.refresh_token, rotated, 'the restart used the rotated token, not the one in flows_cred.json');
        assert.deepEqual(answers, [200, 200]);

        // The provider's admin issues a new refresh token and the user enters it: the kept one must not win.
        provider.refreshToken = 'entered-by-the-user';
        await deploy(nodeRed, 'entered-by-the-user');
        await until(
            () => answers.length === 3,
            () => `answers ${JSON.stringify(answers)}; log:\n${nodeRed!.log()}`,
            20_000,
        );
        assert.equal(provider.seen[2]!.form.refresh_token, 'entered-by-the-user');
        assert.deepEqual(answers, [200, 200, 200]);

        const log = nodeRed.log();
        assert.doesNotMatch(log, /invalid_grant|\[error\]/);
        for (const secret of [provider.clientSecret, rotated, provider.refreshToken, ...provider.issued])
            assert.ok(!log.includes(secret), 'a secret in the log');
    });
});
