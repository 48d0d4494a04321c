// Every command a real redis-server runs, as MONITOR streams them, on a socket of its own. Not ioredis's monitor mode:
// it takes the connection into that mode only once MONITOR's OK has been handled, a microtask later, so the lines that
// arrive in the same read as the OK (a busy server's next commands) were dropped with a "Command queue state error".
import net from 'node:net';

export interface MonitoredCommand {
    /** When the server ran it, on its clock (ms). */
    at: number;
    /** The client's `host:port`, or `lua` for a command a script ran. */
    source: string;
    /** The command and its arguments as sent, one character per byte (latin1). */
    args: string[];
}

export interface CommandWatch {
    stop(): void;
}

const CONTROLS: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };

/**
 * One MONITOR line (`1796658347.616250 [0 127.0.0.1:43778] "evalsha" "4f12..." "7" ...`), its arguments unquoted:
 * Redis writes `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b` and other bytes as `\xHH`.
 */
export function parseMonitorLine(line: string): MonitoredCommand {
    const open = line.indexOf('[');
    const close = line.indexOf(']', open);
    if (open < 0 || close < 0) throw new Error(`not a MONITOR line: ${line.slice(0, 200)}`);
    const [, source = ''] = line.slice(open + 1, close).split(' ');
    const args: string[] = [];
    let index = close + 1;
    while (index < line.length) {
        if (line[index] === ' ') {
            index += 1;
            continue;
        }
        if (line[index] !== '"') throw new Error(`not a quoted argument at ${index} of ${line.slice(0, 200)}`);
        let arg = '';
        index += 1;
        while (index < line.length && line[index] !== '"') {
            if (line[index] === '\\') {
                const code = line[index + 1] ?? '';
                if (code === 'x') {
                    arg += String.fromCharCode(parseInt(line.slice(index + 2, index + 4), 16));
                    index += 4;
                } else {
                    arg += CONTROLS[code] ?? code;
                    index += 2;
                }
            } else {
                arg += line[index];
                index += 1;
            }
        }
        args.push(arg);
        index += 1;
    }
    return { at: Number(line.slice(0, line.indexOf(' '))) * 1000, source, args };
}

/** Resolves once MONITOR has answered OK on `url` (`redis://[user:password@]host:port`); then calls `onCommand` for each. */
export function watchCommands(url: string, onCommand: (command: MonitoredCommand) => void): Promise<CommandWatch> {
    const { hostname, port, username, password } = new URL(url);
    const auth = password ? [username ? `AUTH ${decodeURIComponent(username)} ${decodeURIComponent(password)}` : `AUTH ${decodeURIComponent(password)}`] : [];
    return new Promise((resolve, reject) => {
        const socket = net.connect(Number(port || 6379), hostname);
        socket.setEncoding('latin1');
        // AUTH's OK, then MONITOR's: every line after them is a command.
        let oks = auth.length + 1;
        let buffered = '';
        socket.on('connect', () => socket.write([...auth, 'MONITOR'].map((command) => `${command}\r\n`).join('')));
        socket.on('error', reject);
        socket.on('data', (chunk: string) => {
            buffered += chunk;
            // Each line is a simple string: MONITOR escapes any CR or LF inside it.
            for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
                const line = buffered.slice(0, end);
                buffered = buffered.slice(end + 2);
                if (line.startsWith('-')) {
                    socket.destroy();
                    reject(new Error(`MONITOR on ${url}: ${line.slice(1)}`));
                    return;
                }
                if (oks > 0) {
                    oks -= 1;
                    if (oks === 0) resolve({ stop: () => socket.destroy() });
                    continue;
                }
                onCommand(parseMonitorLine(line.slice(1)));
            }
        });
    });
}
