/**
 * Building blocks for input schemas: free text and numbers that PostgreSQL can store as they are. A NUL character or
 * a lone UTF-16 surrogate in a text or jsonb column, or a number a `real` column cannot hold, makes the database
 * refuse the whole statement: these refuse the input first, naming the field.
 */
import { z } from 'zod';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `value` holds no NUL (\u0000) character. */
export const hasNoNul = (value: string): boolean => !value.includes('\u0000');
/** True when `value` is well-formed Unicode: no lone UTF-16 surrogate. */
export const hasNoLoneSurrogate = (value: string): boolean => !LONE_SURROGATE.test(value);

/** True when `value` holds no NUL and no lone surrogate: text a database stores unchanged. */
export function isStorableText(value: string): boolean {
  return hasNoNul(value) && hasNoLoneSurrogate(value);
}

/** Free text of at most `max` characters (names, messages, reasons): no NUL, well-formed Unicode. */
export function text(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine(hasNoNul, 'must not contain NUL (\\u0000) characters')
    .refine(hasNoLoneSurrogate, 'must be well-formed Unicode (no lone surrogate characters)');
}

/** Largest finite float32 value. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A number a float32 (PostgreSQL `real`) holds: |x| <= FLOAT32_MAX, rounded to float32. Values too small for float32
 * (5e-324) become 0, as they would in the device's Float32Array; values too large are refused.
 */
const FLOAT32_MESSAGE = `must be a finite float32 value (between -${FLOAT32_MAX} and ${FLOAT32_MAX})`;

export const float32Schema = z
  .number()
  .refine((value) => Number.isFinite(Math.fround(value)), FLOAT32_MESSAGE)
  .transform((value) => Math.fround(value));

/**
 * `array` (of numbers, with its bounds) holding float32 values, rounded to float32: what z.array(float32Schema) checks,
 * with the same messages and paths, in one loop. An embedding has hundreds of values, and a refine and transform per
 * element made checking a 128-value embedding cost about 0.1 ms, 10x the rest of its event.
 */
export function float32Array(array: z.ZodArray<z.ZodNumber>) {
  return array
    .superRefine(
      (values, ctx) => {
        for (let i = 0; i < values.length; i++) {
          // Only finite numbers are checked here: anything else already has its issue from z.number().
          const value: unknown = values[i];
          if (typeof value === 'number' && Number.isFinite(value) && !Number.isFinite(Math.fround(value))) ctx.addIssue({ code: 'custom', path: [i], message: FLOAT32_MESSAGE, input: value });
        }
      },
      // Also when some element is not a number, as the per-element schema names every bad element.
      { when: (payload) => Array.isArray(payload.value) },
    )
    .transform((values) => values.map(Math.fround));
}
