/**
 * Cron expressions read the way gorhill/cronexpr (the Go runner's parser)
 * reads them, quirks included, so that a job fires when it did before:
 *
 * - 5 fields: minute hour day-of-month month day-of-week (second 0, any year);
 *   **6 fields: those 5 plus a year** (not seconds, unlike most cron
 *   libraries); 7 fields: second … year; fields past the 7th are ignored.
 * - `*` and `?` mean any; `a`, `a-b`, `*\/n`, `a/n` (a to the field's end),
 *   `a-b/n`, lists with `,`; month and weekday names (`jan`, `January`,
 *   `mon`, `Monday`), any case.
 * - day of month: `L` (last day), `LW` (last weekday), `15W` (weekday
 *   nearest the 15th, not crossing the month). Day of week: 0-7 (7 = Sunday,
 *   read as 0 *before* a range is expanded, so `5-7` is empty, as in
 *   cronexpr), `5L` (last Friday), `5#3` (third Friday).
 * - When both day fields are restricted a day matching either is a match.
 * - `@yearly @annually @monthly @weekly @daily @hourly` anywhere in the text.
 * - Years 1970-2099; steps must be 1 … the field's maximum.
 * The next run is the first matching second after the given time.
 */

export class CronError extends Error {}

interface Field {
  name: string;
  min: number;
  max: number;
  /** One value as written (lower-cased); the regexp is anchored by the caller. */
  value: string;
  read(token: string): number;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_NAMES = ["january", "february", "march", "april", "june", "july", "august", "september", "october", "november", "december"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

const SECOND: Field = { name: "second", min: 0, max: 59, value: "0?[0-9]|[1-5][0-9]", read: Number };
const MINUTE: Field = { ...SECOND, name: "minute" };
const HOUR: Field = { name: "hour", min: 0, max: 23, value: "0?[0-9]|1[0-9]|2[0-3]", read: Number };
const DOM: Field = { name: "day-of-month", min: 1, max: 31, value: "0?[1-9]|[12][0-9]|3[01]", read: Number };
const MONTH: Field = {
  name: "month",
  min: 1,
  max: 12,
  value: `0?[1-9]|1[012]|${[...MONTHS, ...MONTH_NAMES].join("|")}`,
  read: (t) => (/^\d+$/.test(t) ? Number(t) : MONTHS.indexOf(t.slice(0, 3)) + 1),
};
const DOW: Field = {
  name: "day-of-week",
  min: 0,
  max: 6,
  value: `0?[0-7]|${[...DAYS, ...DAY_NAMES].join("|")}`,
  read: (t) => (/^\d+$/.test(t) ? Number(t) % 7 : DAYS.indexOf(t.slice(0, 3))),
};
const YEAR: Field = { name: "year", min: 1970, max: 2099, value: "19[789][0-9]|20[0-9]{2}", read: Number };

/** cronexpr reads a step through its table of known numbers: 0-59 (and 00-09), 1970-2099; anything else is 0. */
function readStep(digits: string): number {
  return /^(0?[0-9]|[1-5][0-9]|19[789][0-9]|20[0-9]{2})$/.test(digits) ? Number(digits) : 0;
}

const MACROS: [string, string][] = [
  ["@yearly", "0 0 0 1 1 * *"],
  ["@annually", "0 0 0 1 1 * *"],
  ["@monthly", "0 0 0 1 * * *"],
  ["@weekly", "0 0 0 * * 0 *"],
  ["@daily", "0 0 0 * * * *"],
  ["@hourly", "0 0 * * * * *"],
];

type Entry = { kind: "all" } | { kind: "values"; values: number[] } | { kind: "other"; text: string };

function range(first: number, last: number, step: number): number[] {
  const out: number[] = [];
  for (let v = first; v <= last; v += step) out.push(v);
  return out;
}

/** The entries of one field, in order; `other` is left to the day fields' special forms. */
function readEntries(text: string, f: Field): Entry[] {
  const tokens = text.split(",").filter(Boolean);
  if (!tokens.length) throw new CronError(`${f.name} field: missing directive`);
  const v = `(${f.value})`;
  return tokens.map((raw): Entry => {
    const t = raw.toLowerCase();
    let m: RegExpExecArray | null;
    if (t === "*" || t === "?") return { kind: "all" };
    if ((m = new RegExp(`^${v}$`).exec(t))) return { kind: "values", values: [f.read(m[1])] };
    if ((m = new RegExp(`^${v}-${v}$`).exec(t))) return { kind: "values", values: range(f.read(m[1]), f.read(m[2]), 1) };
    const stepped = (first: number, last: number, step: string): Entry => {
      const n = readStep(step);
      if (n < 1 || n > f.max) throw new CronError(`invalid interval ${t}`);
      return { kind: "values", values: range(first, last, n) };
    };
    if ((m = /^\*\/(\d+)$/.exec(t))) return stepped(f.min, f.max, m[1]);
    if ((m = new RegExp(`^${v}/(\\d+)$`).exec(t))) return stepped(f.read(m[1]), f.max, m[2]);
    if ((m = new RegExp(`^${v}-${v}/(\\d+)$`).exec(t))) return stepped(f.read(m[1]), f.read(m[2]), m[3]);
    return { kind: "other", text: t };
  });
}

/** second, minute, hour, month, year: a sorted list of values. */
function readPlainField(text: string, f: Field): number[] {
  const values = new Set<number>();
  for (const e of readEntries(text, f)) {
    if (e.kind === "other") throw new CronError(`syntax error in ${f.name} field: '${e.text}'`);
    if (e.kind === "all") return range(f.min, f.max, 1);
    e.values.forEach((x) => values.add(x));
  }
  return [...values].sort((a, b) => a - b);
}

interface DaysOfMonth {
  restricted: boolean;
  days: Set<number>;
  nearestWeekday: Set<number>;
  last: boolean;
  lastWeekday: boolean;
}

function readDaysOfMonth(text: string): DaysOfMonth {
  const out: DaysOfMonth = { restricted: true, days: new Set(), nearestWeekday: new Set(), last: false, lastWeekday: false };
  for (const e of readEntries(text, DOM)) {
    if (e.kind === "all") out.restricted = false;
    else if (e.kind === "values") e.values.forEach((d) => out.days.add(d));
    else if (e.text === "l") out.last = true;
    else if (e.text === "lw") out.lastWeekday = true;
    else {
      const m = new RegExp(`^(${DOM.value})w$`).exec(e.text);
      if (!m) throw new CronError(`syntax error in day-of-month field: '${e.text}'`);
      out.nearestWeekday.add(Number(m[1]));
    }
  }
  return out;
}

interface DaysOfWeek {
  restricted: boolean;
  days: Set<number>;
  /** [weekday, n] for `d#n`. */
  nth: [number, number][];
  last: Set<number>;
}

function readDaysOfWeek(text: string): DaysOfWeek {
  const out: DaysOfWeek = { restricted: true, days: new Set(), nth: [], last: new Set() };
  for (const e of readEntries(text, DOW)) {
    if (e.kind === "all") {
      out.restricted = false;
      range(0, 6, 1).forEach((d) => out.days.add(d));
    } else if (e.kind === "values") e.values.forEach((d) => out.days.add(d));
    else {
      let m = new RegExp(`^(${DOW.value})l$`).exec(e.text);
      if (m) out.last.add(DOW.read(m[1]));
      else if ((m = new RegExp(`^(${DOW.value})#([1-5])$`).exec(e.text))) out.nth.push([DOW.read(m[1]), Number(m[2])]);
      else throw new CronError(`syntax error in day-of-week field: '${e.text}'`);
    }
  }
  return out;
}

/** How a schedule reads wall-clock time: the local zone (as the Go runner) or UTC. */
export type Zone = "local" | "utc";

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function fieldsOf(t: Date, zone: Zone): Fields {
  return zone === "utc"
    ? { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate(), hour: t.getUTCHours(), minute: t.getUTCMinutes(), second: t.getUTCSeconds() }
    : { year: t.getFullYear(), month: t.getMonth() + 1, day: t.getDate(), hour: t.getHours(), minute: t.getMinutes(), second: t.getSeconds() };
}

function dateOf(f: Fields, zone: Zone): Date {
  return zone === "utc" ? new Date(Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second)) : new Date(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
}

/** Calendar facts (zone-free). */
const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const weekdayOf = (year: number, month: number, day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay();

export class CronSchedule {
  readonly seconds: number[];
  readonly minutes: number[];
  readonly hours: number[];
  readonly months: number[];
  readonly years: number[];
  private readonly dom: DaysOfMonth;
  private readonly dow: DaysOfWeek;

  constructor(
    readonly source: string,
    readonly zone: Zone = "local",
  ) {
    let text = source;
    for (const [macro, fields] of MACROS) text = text.split(macro).join(fields);
    const fields = text.split(/\s+/).filter(Boolean).slice(0, 7);
    if (fields.length < 5) throw new CronError("missing field(s)");
    if (fields.length === 5) fields.push("*");
    if (fields.length === 6) fields.unshift("0");
    this.seconds = readPlainField(fields[0], SECOND);
    this.minutes = readPlainField(fields[1], MINUTE);
    this.hours = readPlainField(fields[2], HOUR);
    this.dom = readDaysOfMonth(fields[3]);
    this.months = readPlainField(fields[4], MONTH);
    this.dow = readDaysOfWeek(fields[5]);
    this.years = readPlainField(fields[6], YEAR);
  }

  /** The days of a month the expression matches, ascending. */
  daysOfMonth(year: number, month: number): number[] {
    const last = daysIn(year, month);
    const all = range(1, last, 1);
    const { dom, dow } = this;
    if (!dom.restricted && !dow.restricted) return all;
    const hit = new Set<number>();
    const nearestWeekday = (day: number) => {
      const wd = weekdayOf(year, month, day);
      if (wd === 6) return day > 1 ? day - 1 : day + 2;
      if (wd === 0) return day < last ? day + 1 : day - 2;
      return day;
    };
    if (dom.restricted) {
      if (dom.last) hit.add(last);
      if (dom.lastWeekday) hit.add(nearestWeekday(last));
      for (const d of dom.days) if (d <= last) hit.add(d);
      for (const d of dom.nearestWeekday) if (d <= last) hit.add(nearestWeekday(d));
    }
    if (dow.restricted) {
      for (const d of all) if (dow.days.has(weekdayOf(year, month, d))) hit.add(d);
      const firstOf = (wd: number) => 1 + ((wd - weekdayOf(year, month, 1) + 7) % 7);
      for (const [wd, n] of dow.nth) {
        const d = firstOf(wd) + 7 * (n - 1);
        if (d <= last) hit.add(d);
      }
      for (const wd of dow.last) hit.add(last - ((weekdayOf(year, month, last) - wd + 7) % 7));
    }
    return [...hit].sort((a, b) => a - b);
  }

  /** The first matching second strictly after `from`, or null when there is none (before 2100). */
  next(from: Date): Date | null {
    const start = fieldsOf(new Date(Math.floor(from.getTime() / 1000) * 1000 + 1000), this.zone);
    for (const year of this.years) {
      if (year < start.year) continue;
      const same = year === start.year;
      for (const month of this.months) {
        if (same && month < start.month) continue;
        const sameMonth = same && month === start.month;
        for (const day of this.daysOfMonth(year, month)) {
          if (sameMonth && day < start.day) continue;
          const sameDay = sameMonth && day === start.day;
          for (const hour of this.hours) {
            if (sameDay && hour < start.hour) continue;
            const sameHour = sameDay && hour === start.hour;
            for (const minute of this.minutes) {
              if (sameHour && minute < start.minute) continue;
              const sameMinute = sameHour && minute === start.minute;
              for (const second of this.seconds) {
                if (sameMinute && second < start.second) continue;
                return dateOf({ year, month, day, hour, minute, second }, this.zone);
              }
            }
          }
        }
      }
    }
    return null;
  }

  /** The next n run times after `from` (fewer if the expression runs out). */
  nextN(from: Date, n: number): Date[] {
    const out: Date[] = [];
    let t: Date | null = from;
    while (out.length < n && (t = this.next(t))) out.push(t);
    return out;
  }
}

/** Parses a schedule; throws CronError with cronexpr's message for what it rejects. */
export function parseCron(source: string, zone: Zone = "local"): CronSchedule {
  return new CronSchedule(source, zone);
}
