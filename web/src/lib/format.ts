const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });

export function formatMoney(amount: number): string {
  return money.format(amount);
}

/** The user's locale (the browser's first language); undefined lets Intl pick the runtime's default. */
export function userLocale(): string | undefined {
  return typeof navigator !== 'undefined' && navigator.language ? navigator.language : undefined;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** A date in the user's locale, short and unambiguous ("7 Dec 2026", "Dec 7, 2026"); "—" when absent or invalid. */
export function formatDate(iso: string | undefined, locale: string | undefined = userLocale()): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const key = locale ?? '';
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric' });
    dateFormats.set(key, format);
  }
  return format.format(d);
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** A moment in the user's locale with its time of day ("7 Dec 2026, 14:05"), for when something happened; "—" when absent or invalid. */
export function formatDateTime(iso: string | undefined, locale: string | undefined = userLocale()): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const key = locale ?? '';
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    dateTimeFormats.set(key, format);
  }
  return format.format(d);
}

/** A month as "Dec 2026" in the user's locale (trend charts). */
export function formatMonth(year: number, month: number, locale: string | undefined = userLocale()): string {
  return new Intl.DateTimeFormat(locale, { month: 'short', year: 'numeric' }).format(new Date(year, month, 1));
}

/** yyyy-mm-dd for <input type="date">. */
export function dateInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 10);
}

export function label(stage: string): string {
  return stage.charAt(0).toUpperCase() + stage.slice(1);
}
