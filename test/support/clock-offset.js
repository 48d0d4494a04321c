// Preloaded with `node --require` into a Node-RED a test starts, to make its wall clock wrong by CLOCK_OFFSET_MS
// (an instance whose NTP failed): Date.now(), new Date() and Date() read that much ahead (or behind, when negative).
// Timers and performance.now() keep real time, as they do on a machine whose wall clock is off.
'use strict';

const offsetMs = Number(process.env.CLOCK_OFFSET_MS);
if (!Number.isFinite(offsetMs)) throw new Error(`CLOCK_OFFSET_MS: "${process.env.CLOCK_OFFSET_MS}" is not a number of milliseconds`);

const RealDate = Date;
const shiftedNow = () => RealDate.now() + offsetMs;

globalThis.Date = new Proxy(RealDate, {
    // new Date() is now on the shifted clock; new Date(value) is the time it names, as before.
    construct(target, args, newTarget) {
        return Reflect.construct(target, args.length === 0 ? [shiftedNow()] : args, newTarget);
    },
    // Date() called as a function gives the current time as text.
    apply() {
        return new RealDate(shiftedNow()).toString();
    },
    get(target, property, receiver) {
        if (property === 'now') return shiftedNow;
        return Reflect.get(target, property, receiver);
    },
});
