// A real HTTP server on 127.0.0.1 for the "web service out" tests: it records exactly what arrived and answers
// according to the path, including the ways a server can misbehave.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

export interface Arrived {
    requestLine: string;
    method: string;
    /** The request target exactly as on the request line. */
    target: string;
    query: string;
    /** Header names and values in the order and case they arrived. */
    rawHeaders: [string, string][];
    headers: http.IncomingHttpHeaders;
    body: Buffer;
    remotePort: number;
}

export interface Recorder {
    url: string;
    port: number;
    arrived: Arrived[];
    /** Resolves with the next request that arrives (or one that already did and was not taken yet). */
    next(): Promise<Arrived>;
    close(): Promise<void>;
}

// Self-signed for 127.0.0.1 and localhost, valid until 2125; only ever used by these tests.
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIDJzCCAg+gAwIBAgIUHZxOdgnsSYgd5OskUxR21XNZVyYwDQYJKoZIhvcNAQEL
BQAwFDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTAxNDU0NVoYDzIxMjYx
MTAxMDE0NTQ1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwggEiMA0GCSqGSIb3DQEB
AQUAA4IBDwAwggEKAoIBAQDNrZ4mChnexP1a7EHhUg2f+1C09teinGXs80HN4pXi
ShftcuYueZmakcJ+GzlA9FZIFaO4moyUW9YntgAAzpOkz6JgEThSNKz9P0YvEcPZ
Mmn0aSXZ9Y+37+MWaJCs9G6/u+EL+wot4UrgoEDSe/zED4ACxqzjxxhNmkaVaMLE
0TlYkre2ewOKsmPrjt8YgZfR1wdUOfdtjC5lS9O7oe5ioFz3jPNruYxFybFMHB6L
+um27FAeGtgK+g/fowP9k1adwAFxvpzFO1/dWlPO6iWvyHaOtEPfRcxi4nDOU7Ed
m6Rp2NT6re0x/FOAVKdIv1N91j25r5els5KQqrICt3c9AgMBAAGjbzBtMB0GA1Ud
DgQWBBTm0Lfgr5sBUBh2qoHNCb0Af46nhTAfBgNVHSMEGDAWgBTm0Lfgr5sBUBh2
qoHNCb0Af46nhTAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGHBH8AAAGCCWxv
Y2FsaG9zdDANBgkqhkiG9w0BAQsFAAOCAQEAfLDX467raBHc4kP5kYTbumrk+uhE
eGzejb6WqCeM1IFj2eZfFQHpxLLReVtWLmE3DpY+IKqGypPrqUPZTI0kkySJia7z
1b5m8RWJkyVGM3ss/ASdNSNhE+WfRCKh74Cv66On5NHWsNjdg8YltEVvTpBp2Off
l2vcwB5ywRasIA/pQ2WX8Ls5VlwjOXl+pQCrKN84hpLuV8G34Mk56CT8ByetBRhw
PYiyOHqKKZpeAcLFk9uI/GXz+6hhbg9o4EvByJlZZi4Sv2AaZrrpI+oBA3ocJX8x
a9esh1gbS/QOWFBjFTchhGoWPzLkNm9JQCBNblVM80buX+dBCljveoWPlw==
-----END CERTIFICATE-----`;
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDNrZ4mChnexP1a
7EHhUg2f+1C09teinGXs80HN4pXiShftcuYueZmakcJ+GzlA9FZIFaO4moyUW9Yn
tgAAzpOkz6JgEThSNKz9P0YvEcPZMmn0aSXZ9Y+37+MWaJCs9G6/u+EL+wot4Urg
oEDSe/zED4ACxqzjxxhNmkaVaMLE0TlYkre2ewOKsmPrjt8YgZfR1wdUOfdtjC5l
S9O7oe5ioFz3jPNruYxFybFMHB6L+um27FAeGtgK+g/fowP9k1adwAFxvpzFO1/d
WlPO6iWvyHaOtEPfRcxi4nDOU7Edm6Rp2NT6re0x/FOAVKdIv1N91j25r5els5KQ
qrICt3c9AgMBAAECggEAC2Vj1YeDTeLk+QjUl93KWQcEhaexAPpSjoxX7A3kRa/a
2DYEWW3DLgZNuJSVy2rFe8DGTaHeHp8oeYRb8a+AfoYKNmNWweEQoZVSQohIdH/P
mDYElozvYjCqJTpDFXBo0Svvrlezvlnt22Os08sAdObHZxjdAXwe5ylnfVeT2xzn
FGmM6v5p+6ImjiA5Cpc11yuQ5+M2OnG4NxXy/ntosNtn3S8Ea5ZmPUvomo+z7rug
uo5j+vQPpjrLqbsdBQz5evqKbmIcwzs3RdFIti2aVkZ/llEueQG8WYI/4uqadoEt
7JCTILoti+t6MXj7OofRaD0niZBpxZuK426eo2ycfQKBgQD7uDgf3pOY8G0Iz2cn
NW+qJT+vPzL9P4OIVLcGIOSb7AVpDsxU0K3Y3UGJ9QLTfDwLsYeFiA6J1BlqcRba
59bqgHMtRvR8GFzjoOIh5lYyIU5TDN3wXjMhXwmCsja87xfrWRt/PGJbmWFjxcLn
wORG4SNKW3oSJzGkBvvvLRHk3wKBgQDRLPjTcp6Zh1AQ/s3DvHsrcboER+dwqMD/
ft7Od5Aop2ZhMmzUyPwr9/L3vEiMSjyJIGD8V60qs4FYlteS1KhK34x6DOgIYCq8
/eGiDHqxHYJRinJXVEh5K5EkM+RM2NXtOMuU9dPPRMOFRx4iU8rStFDkv1Zt0Amv
4Y1W2XWrYwKBgH5WhqzQLKpdOYxrdG2Eb2gpS95sTO44e47oXfgQeE0d19VT3RBQ
sIChBCz2sRVuTEDeOJO3pvxcXOlEm2EBbafDEovOChVisPR6oiS7k9WTS9l5Isdq
sCT2qzJSuhB3vDyeO6PPrdolkHDgKCPjd29vviOq6AjGbS7TZo0zxMBnAoGBAJa+
sDvCOKYwK/Vzi9pp9OHkPchkAVjhZOU8C1oENHH34gJeEqxug700HXeHy0i/H007
dmmkzfkeEDNF0enRM89xt40ly/ptQ5+b34WnNKx7tbUJ70kcRnZ8fUb31qnDArjI
235ogtK2nalpDUBz3pFmvX18ns7YxIJqLC/Q28o9AoGAUvRrpCq/dbpd7NGXoY+a
8SzTS1kmp/lgt6xIzHbLP9Iz22p/xRqPkatzHx+965IWwniJbxXuuyJHIyCvNi2i
rPIHx+8ybvcxgLJEr4I3U1xYcTgHSiNb3L3YBUF/Zl60B+NJ/e0PavQxvQojgzPn
cjzF+aIfZdyWtRuxuiNdMNM=
-----END PRIVATE KEY-----`;

function pairs(raw: string[]): [string, string][] {
    const result: [string, string][] = [];
    for (let index = 0; index < raw.length; index += 2) result.push([raw[index], raw[index + 1]]);
    return result;
}

function answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const status = /^\/status\/(\d{3})/.exec(path);
    if (path.startsWith('/hang')) return; // never answers, not even headers
    if (path.startsWith('/trickle')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('.'), 100);
        res.on('close', () => clearInterval(timer));
        return;
    }
    if (path.startsWith('/reset')) {
        req.socket.destroy();
        return;
    }
    if (status) {
        const code = Number(status[1]);
        res.writeHead(code, { 'content-type': 'application/json', ...(code === 302 ? { location: 'http://127.0.0.1:1/elsewhere' } : {}) });
        res.end(JSON.stringify({ status: code }));
        return;
    }
    if (path.startsWith('/text')) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('plain ünïcode');
        return;
    }
    // The response headers a core "http request" node would copy into the next request via msg.headers.
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-leak': 'response-header', 'set-cookie': 'session=abc' });
    res.end(JSON.stringify({ ok: true, path }));
}

export async function startRecorder(options: { tls?: boolean } = {}): Promise<Recorder> {
    const arrived: Arrived[] = [];
    const waiting: ((arrived: Arrived) => void)[] = [];
    let taken = 0;
    const sockets = new Set<Socket>();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const target = req.url ?? '';
            const record: Arrived = {
                requestLine: `${req.method} ${target} HTTP/${req.httpVersion}`,
                method: req.method ?? '',
                target,
                query: target.includes('?') ? target.slice(target.indexOf('?') + 1) : '',
                rawHeaders: pairs(req.rawHeaders),
                headers: req.headers,
                body: Buffer.concat(chunks),
                remotePort: req.socket.remotePort ?? 0,
            };
            arrived.push(record);
            const waiter = waiting.shift();
            if (waiter) {
                taken++;
                waiter(record);
            }
            answer(req, res);
        });
    };
    const server = options.tls ? https.createServer({ cert: TEST_CERT, key: TEST_KEY }, handler) : http.createServer(handler);
    server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    server.on('secureConnection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        port,
        arrived,
        next() {
            if (taken < arrived.length) return Promise.resolve(arrived[taken++]);
            return new Promise((resolve) => waiting.push(resolve));
        },
        close() {
            for (const socket of sockets) socket.destroy();
            return new Promise((resolve) => server.close(() => resolve()));
        },
    };
}
