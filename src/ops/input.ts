/**
 * Reading an operation's arguments: absent, null and '' mean "not given",
 * strings are made well-formed (lone surrogates would decode differently on
 * each peer), then the operation's zod schema decides; its complaints become
 * one short OpError naming the field.
 */
import type { z } from 'zod';
import { wellFormed } from '../model/context.js';
import { OpError } from './errors.js';

function clean(v: unknown): unknown {
  if (typeof v === 'string') return wellFormed(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? wellFormed(x) : x));
  return v;
}

/** The arguments of a request body, normalized (top-level fields only: the schemas are flat). */
export function normalizeArgs(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined && v !== null && v !== '') out[k] = clean(v);
  return out;
}

function describe(issue: z.core.$ZodIssue, args: Record<string, unknown>): string {
  const name = issue.path.map(String).join('.') || 'arguments';
  if (issue.code === 'invalid_type' && issue.path.length === 1 && !(String(issue.path[0]) in args)) return `missing "${name}"`;
  // Our own messages are sentences already; zod's defaults ("Too small: ...") get the field's name.
  if (/^[a-z"]/.test(issue.message)) return issue.message;
  if (issue.code === 'invalid_type') return `"${name}" must be ${issue.expected === 'array' ? 'an array' : `a ${issue.expected}`}`;
  if (issue.code === 'invalid_value') return `"${name}" must be one of ${issue.values.map(String).join(', ')}`;
  return `"${name}": ${issue.message}`;
}

export function parseArgs<S extends z.ZodType>(schema: S, body: Record<string, unknown>): z.output<S> {
  const args = normalizeArgs(body);
  const r = schema.safeParse(args);
  if (r.success) return r.data;
  throw new OpError(describe(r.error.issues[0], args), 'invalid');
}
