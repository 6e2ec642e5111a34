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
export const float32Schema = z
  .number()
  .refine((value) => Number.isFinite(Math.fround(value)), `must be a finite float32 value (between -${FLOAT32_MAX} and ${FLOAT32_MAX})`)
  .transform((value) => Math.fround(value));
