// The CRM rules the server enforces, mirrored so a form can say what is wrong before sending, and the
// server's Parse error 142 ("email must be a valid email address") tied back to the field it names.

export type FieldErrors = Record<string, string>;

/** The same shape the server checks: something@something.tld, no spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function isEmail(value: string): boolean {
  return EMAIL.test(value.trim());
}

/** Capitalises the first letter, for a message shown under its field. */
export function sentence(message: string): string {
  return message ? message.charAt(0).toUpperCase() + message.slice(1) : message;
}

/**
 * The field a server validation message names: Parse error 142 messages start with the field's name
 * ("amount must be zero or more"). Undefined when the first word names none of the form's fields.
 */
export function fieldOfError(error: unknown, fields: readonly string[]): { field: string; message: string } | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 142 || typeof message !== 'string') return undefined;
  const first = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(message)?.[1];
  if (!first) return undefined;
  const field = fields.find((f) => f === first) ?? fields.find((f) => f.toLowerCase() === first.toLowerCase());
  return field ? { field, message: message.trim() } : undefined;
}

type Values = Record<string, string>;

/** Client-side checks of one record's form values, keyed by field name; empty when the values may be sent. */
export function validateRecord(className: string, values: Values): FieldErrors {
  const errors: FieldErrors = {};
  const blank = (k: string) => !(values[k] ?? '').trim();
  const required = className === 'Company' || className === 'Contact' ? ['name'] : className === 'Deal' ? ['title'] : className === 'Activity' ? ['subject'] : [];
  for (const k of required) if (k in values && blank(k)) errors[k] = `${k} is required`;
  if (values.email && !isEmail(values.email)) errors.email = 'email must be a valid email address';
  if (values.amount !== undefined && values.amount !== '') {
    const n = Number(values.amount);
    if (!Number.isFinite(n)) errors.amount = 'amount must be a number';
    else if (n < 0) errors.amount = 'amount must be zero or more';
  }
  for (const k of ['expectedCloseDate', 'dueDate']) {
    if (values[k] && Number.isNaN(Date.parse(values[k]))) errors[k] = `${k} must be a date`;
  }
  return errors;
}
