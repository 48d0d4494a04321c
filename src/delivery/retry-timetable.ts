/**
 * The retries a queue waits for, earliest first, under a single timer set for the earliest. A timer per waiting
 * call cost about 290 bytes each (its Timeout, its closure, and a timer list per distinct jittered wait) that a
 * backlog of refused requests held for every one of them; here an entry is three array slots.
 *
 * An entry is the item, its time and a token that the item keeps (`tokenOf`): an item woken early, or waiting again,
 * no longer has the token of its old entry, which is dropped when it comes up (or when stale entries are the
 * majority, so that a long wait woken early does not keep its item for the rest of that wait).
 */
export class RetryTimetable<T> {
    private readonly items: T[] = [];
    private readonly times: number[] = [];
    private readonly tokens: number[] = [];
    private lastToken = 0;
    private stale = 0;
    private timer: NodeJS.Timeout | undefined;
    private timerAt = 0;
    private stopped = false;

    constructor(
        private readonly clock: () => number,
        /** The token of the entry the item waits under now; any other entry of it is stale. */
        private readonly tokenOf: (item: T) => number | undefined,
        /** Items whose time has come, earliest first (in the order they were added for the same time). */
        private readonly onDue: (items: T[]) => void,
    ) {}

    /** Adds an entry for `item` due at `at` (on the clock); returns the token the item keeps while it waits. */
    add(item: T, at: number): number {
        const token = ++this.lastToken;
        this.items.push(item);
        this.times.push(at);
        this.tokens.push(token);
        this.siftUp(this.items.length - 1);
        // Stale entries on top are left for the timer: the item takes its token only once this returns.
        if (!this.stopped && (this.timer === undefined || at < this.timerAt)) this.arm(false);
        return token;
    }

    /** An item's entry became stale (it was woken early): counted, so that stale entries do not pile up. */
    dropped(): void {
        this.stale += 1;
        if (this.stale > 1024 && this.stale * 2 > this.items.length) this.compact();
    }

    /** Stops the timer for good: entries left are not due any more (the queue closes). */
    stop(): void {
        this.stopped = true;
        clearTimeout(this.timer);
        this.timer = undefined;
    }

    /** Items waiting. */
    get size(): number {
        return this.items.length - this.stale;
    }

    /** Entries held, stale ones included: what the timetable takes in memory. */
    get held(): number {
        return this.items.length;
    }

    private current(index: number): boolean {
        return this.tokenOf(this.items[index]!) === this.tokens[index];
    }

    private arm(dropStale = true): void {
        while (dropStale && this.items.length > 0 && !this.current(0)) {
            this.pop();
            this.stale -= 1;
        }
        clearTimeout(this.timer);
        this.timer = undefined;
        if (this.items.length === 0) return;
        const at = this.times[0]!;
        this.timerAt = at;
        this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.clock()));
    }

    private fire(): void {
        this.timer = undefined;
        // The entry the timer was set for is due whatever the clock says (a clock that is not the timers' own).
        const now = Math.max(this.clock(), this.timerAt);
        const due: T[] = [];
        while (this.items.length > 0 && this.times[0]! <= now) {
            const current = this.current(0);
            const item = this.pop();
            if (current) due.push(item);
            else this.stale -= 1;
        }
        this.arm();
        if (due.length > 0) this.onDue(due);
    }

    private pop(): T {
        const top = this.items[0]!;
        const lastItem = this.items.pop()!;
        const lastTime = this.times.pop()!;
        const lastToken = this.tokens.pop()!;
        if (this.items.length > 0) {
            this.items[0] = lastItem;
            this.times[0] = lastTime;
            this.tokens[0] = lastToken;
            this.siftDown(0);
        }
        return top;
    }

    /** Rebuilds the heap from the current entries only. */
    private compact(): void {
        let kept = 0;
        for (let index = 0; index < this.items.length; index++) {
            if (!this.current(index)) continue;
            this.items[kept] = this.items[index]!;
            this.times[kept] = this.times[index]!;
            this.tokens[kept] = this.tokens[index]!;
            kept += 1;
        }
        this.items.length = kept;
        this.times.length = kept;
        this.tokens.length = kept;
        this.stale = 0;
        for (let index = (kept >> 1) - 1; index >= 0; index--) this.siftDown(index);
        if (!this.stopped) this.arm();
    }

    /** Earlier time first; for the same time, the entry added first (tokens grow). */
    private before(a: number, b: number): boolean {
        const ta = this.times[a]!;
        const tb = this.times[b]!;
        return ta < tb || (ta === tb && this.tokens[a]! < this.tokens[b]!);
    }

    private swap(a: number, b: number): void {
        const item = this.items[a]!;
        this.items[a] = this.items[b]!;
        this.items[b] = item;
        const time = this.times[a]!;
        this.times[a] = this.times[b]!;
        this.times[b] = time;
        const token = this.tokens[a]!;
        this.tokens[a] = this.tokens[b]!;
        this.tokens[b] = token;
    }

    private siftUp(index: number): void {
        while (index > 0) {
            const parent = (index - 1) >> 1;
            if (!this.before(index, parent)) return;
            this.swap(index, parent);
            index = parent;
        }
    }

    private siftDown(index: number): void {
        const length = this.items.length;
        for (;;) {
            const left = 2 * index + 1;
            if (left >= length) return;
            const right = left + 1;
            const child = right < length && this.before(right, left) ? right : left;
            if (!this.before(child, index)) return;
            this.swap(index, child);
            index = child;
        }
    }
}
