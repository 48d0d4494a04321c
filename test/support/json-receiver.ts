import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JsonReceiver<T> {
    /** Where to post: `http://127.0.0.1:<port>/hook`. */
    url: string;
    /** Every body received, parsed, in arrival order. */
    received: T[];
    close(): Promise<void>;
}

/** The web service a test flow posts its JSON bodies to: 127.0.0.1 only, every request answered 200. */
export async function startJsonReceiver<T>(): Promise<JsonReceiver<T>> {
    const received: T[] = [];
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
            res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
        received,
        close: () => new Promise((resolve) => server.close(() => resolve())),
    };
}
