import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';

/** What a tls-config node (or a test) gives a Redis connection: a CA, a client certificate, a server name. */
export type RedisTlsOptions = Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'rejectUnauthorized' | 'servername' | 'ALPNProtocols'>;

/**
 * The TLS options of a connection to `host`. Node sends no SNI unless told, and SNI carries host names only (RFC
 * 6066), so a host name is sent as the server name and an IP address is checked against the certificate without
 * one; a server name set in the TLS configuration wins for every host. No `servername` key at all when there is
 * none: ioredis lays these options over the address with Object.assign, where even an undefined one would count.
 */
export function tlsOptionsFor(tls: RedisTlsOptions | undefined, host: string): RedisTlsOptions {
    const { servername, ...rest } = tls ?? {};
    const name = servername || (isIP(host) ? undefined : host);
    return name === undefined ? rest : { ...rest, servername: name };
}

/** `host:port` (an IPv6 host unbracketed, as ioredis writes node keys) into its parts. */
export function hostAndPort(key: string): { host: string; port: number } {
    const colon = key.lastIndexOf(':');
    return { host: key.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(key.slice(colon + 1)) };
}

/** What Node's TLS errors (OpenSSL's texts) mean for the user of a Redis configuration, and what to change. */
const TLS_PROBLEMS: Array<[RegExp, string]> = [
    [
        /self[- ]signed certificate|unable to verify the first certificate|unable to get (?:local )?issuer certificate|certificate signature failure/i,
        "TLS: the server's certificate is not signed by a CA this node trusts; choose a TLS configuration holding the CA that signed it",
    ],
    [/certificate has expired|certificate is not yet valid/i, "TLS: the server's certificate is out of its validity dates"],
    [
        /does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/i,
        "TLS: the server's certificate is for another name than the one connected to; connect by a name it lists, or set the Server name of the TLS configuration",
    ],
    [
        /wrong version number|packet length too long|unknown protocol|ssl3_get_record/i,
        'TLS: the server does not answer TLS on that port; untick TLS for it (or use redis://), or use its TLS port',
    ],
];

/** An error text with what it means when it is a TLS problem (`self-signed certificate (TLS: the server's ...)`). */
export function explainedTlsProblem(message: string): string {
    if (message.includes('(TLS: ')) return message;
    const meaning = TLS_PROBLEMS.find(([pattern]) => pattern.test(message));
    return meaning ? `${message} (${meaning[1]})` : message;
}

/**
 * A TLS handshake with `host:port` alone: undefined when it succeeds, else its problem explained. ioredis drops
 * the handshake's own error on the connections it makes to ask a Sentinel or a cluster node about the others and
 * tells only "Connection is closed", so Test connection asks again this way to say why.
 */
export function tlsHandshakeProblem(host: string, port: number, tls: RedisTlsOptions, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
        const socket = connect({ ...tls, host, port });
        const done = (problem: string | undefined): void => {
            clearTimeout(timer);
            socket.destroy();
            resolve(problem === undefined ? undefined : explainedTlsProblem(problem));
        };
        const timer = setTimeout(() => done(`no TLS handshake within ${timeoutMs} ms`), timeoutMs);
        socket.once('secureConnect', () => done(undefined));
        socket.once('error', (err: Error) => done(err.message));
    });
}
