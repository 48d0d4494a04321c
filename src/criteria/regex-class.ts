/**
 * The characters one instruction of a criteria regex matches, decided once when the pattern compiles.
 *
 * Deciding it per character while testing cost time in proportion to the class: a 1,000-character pattern made
 * of one wide class repeated `{100}` took 1.4 s a test on text outside ASCII, three hundred times the bound the
 * step budget states. A set over all 65,536 UTF-16 code units, kept as a page per high byte (none, all, or a
 * 256-bit leaf), answers in the same few reads for any class and any character.
 *
 * Ignoring case follows JavaScript's `i` flag without `u` (ECMA-262 Canonicalize): two characters match when
 * their single-character upper cases are equal, except that a character outside ASCII never matches one inside
 * it (so `k` is not the Kelvin sign, `s` not the long s), and `[^...]` is the complement of what the class matches
 * once case is ignored (so `[^k]` matches neither `k` nor `K`).
 */

/** Inclusive UTF-16 code unit ranges, optionally complemented. */
export interface CharSet {
    ranges: Array<[number, number]>;
    negated: boolean;
}

/** A character class: matches when any item matches (or, negated, when none does). */
export interface CharClass {
    items: CharSet[];
    negated: boolean;
}

/**
 * Code units as 256 pages, then their leaves of 8 words (256 bits): each page holds where its leaf starts, and
 * pages with none or all of their code units share an empty and a full leaf, so a look-up is two reads and no
 * branch: `(set[set[code >> 8] + ((code >> 5) & 7)] >>> (code & 31)) & 1`. The matcher writes it out where it
 * tests a character (a call there cost twice as much once several patterns were compiled in one process).
 */
export type CodeUnitSet = Int32Array;

const MAX_CODE_UNIT = 0xffff;
const WORDS_PER_PAGE = 8;
const PAGES = 256;
const EMPTY_LEAF = PAGES;
const FULL_LEAF = PAGES + WORDS_PER_PAGE;

export function codeUnitSetHas(set: CodeUnitSet, code: number): boolean {
    return ((set[set[code >> 8] + ((code >> 5) & 7)] >>> (code & 31)) & 1) === 1;
}

/** Sorts ranges and merges those that overlap or touch. */
function normalise(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [lo, hi] of sorted) {
        const last = merged[merged.length - 1];
        if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
        else merged.push([lo, hi]);
    }
    return merged;
}

/** The code units outside normalised ranges. */
function complement(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
    const outside: Array<[number, number]> = [];
    let next = 0;
    for (const [lo, hi] of ranges) {
        if (lo > next) outside.push([next, lo - 1]);
        next = hi + 1;
    }
    if (next <= MAX_CODE_UNIT) outside.push([next, MAX_CODE_UNIT]);
    return outside;
}

function intersect(a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
    return complement(normalise([...complement(a), ...complement(b)]));
}

function buildSet(ranges: ReadonlyArray<readonly [number, number]>): CodeUnitSet {
    const bits = new Uint32Array((MAX_CODE_UNIT + 1) / 32);
    for (const [lo, hi] of ranges) {
        let code = lo;
        while (code <= hi) {
            if ((code & 31) === 0 && code + 31 <= hi) {
                bits[code >> 5] = 0xffffffff;
                code += 32;
            } else {
                bits[code >> 5] |= 1 << (code & 31);
                code++;
            }
        }
    }
    const pages: number[] = [];
    const leaves: number[] = [...new Array<number>(WORDS_PER_PAGE).fill(0), ...new Array<number>(WORDS_PER_PAGE).fill(-1)];
    for (let page = 0; page < PAGES; page++) {
        const first = page * WORDS_PER_PAGE;
        let empty = true;
        let full = true;
        for (let word = first; word < first + WORDS_PER_PAGE; word++) {
            if (bits[word] !== 0) empty = false;
            if (bits[word] !== 0xffffffff) full = false;
        }
        if (empty) pages[page] = EMPTY_LEAF;
        else if (full) pages[page] = FULL_LEAF;
        else {
            pages[page] = PAGES + leaves.length;
            for (let word = first; word < first + WORDS_PER_PAGE; word++) leaves.push(bits[word]);
        }
    }
    return Int32Array.from([...pages, ...leaves]);
}

interface CaseTable {
    /** Canonicalize (ECMA-262, without `u`) of every code unit. */
    canonical: Uint16Array;
    /** The code units whose canonical form is another one, ascending. */
    moved: Int32Array;
    /** The code units that are their own canonical form. */
    fixed: Array<[number, number]>;
}

let caseTable: CaseTable | undefined;

/** Built once per process, on the first pattern that ignores case (15-20 ms on a small 2-core box). */
function readCaseTable(): CaseTable {
    if (caseTable) return caseTable;
    const canonical = new Uint16Array(MAX_CODE_UNIT + 1);
    const moved: number[] = [];
    for (let code = 0; code <= MAX_CODE_UNIT; code++) {
        const upper = String.fromCharCode(code).toUpperCase();
        const upperCode = upper.length === 1 ? upper.charCodeAt(0) : code;
        canonical[code] = code >= 128 && upperCode < 128 ? code : upperCode;
        if (canonical[code] !== code) moved.push(code);
    }
    caseTable = { canonical, moved: Int32Array.from(moved), fixed: complement(normalise(moved.map((code) => [code, code]))) };
    return caseTable;
}

function rangesHave(ranges: ReadonlyArray<readonly [number, number]>, code: number): boolean {
    let low = 0;
    let high = ranges.length - 1;
    while (low <= high) {
        const middle = (low + high) >> 1;
        if (code < ranges[middle][0]) high = middle - 1;
        else if (code > ranges[middle][1]) low = middle + 1;
        else return true;
    }
    return false;
}

/** The code units whose canonical form is that of some member of `members`. */
function ignoringCase(members: Array<[number, number]>): Array<[number, number]> {
    const { canonical, moved, fixed } = readCaseTable();
    // The canonical forms of the members: those that are their own, and those the others map to.
    const forms: Array<[number, number]> = intersect(members, fixed);
    for (const code of moved) if (rangesHave(members, code)) forms.push([canonical[code], canonical[code]]);
    const canonicalForms = normalise(forms);
    const matched: Array<[number, number]> = intersect(canonicalForms, fixed);
    for (const code of moved) if (rangesHave(canonicalForms, canonical[code])) matched.push([code, code]);
    return normalise(matched);
}

/** Resolves a class's items, negations and (ignoring case) case into the set of code units it matches. */
export function resolveClass(cls: CharClass, caseSensitive: boolean): CodeUnitSet {
    const union: Array<[number, number]> = [];
    for (const item of cls.items) union.push(...(item.negated ? complement(normalise(item.ranges)) : item.ranges));
    const members = normalise(union);
    const matched = caseSensitive ? members : ignoringCase(members);
    return buildSet(cls.negated ? complement(matched) : matched);
}

/** A key equal for two classes that match the same code units with the same case setting. */
export function classKey(cls: CharClass): string {
    return JSON.stringify(cls);
}
