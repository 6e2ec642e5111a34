/** How raw pixels become the model's input tensor (preprocess.ts applies it); stored in every model manifest. */
import { z } from 'zod';
import { COLOR_MODES } from './preprocess';

export const preprocessingSchema = z.object({
  /** Model input height and width in pixels; callers resize to this before calling `pixelsToModelInput`. */
  height: z.number().int().min(8).max(1024),
  width: z.number().int().min(8).max(1024),
  color: z.enum(COLOR_MODES, { error: () => `color must be one of: ${COLOR_MODES.join(', ')}` }),
  /** Input value = pixel / 255 * scale + offset: [0, 1] by default. */
  scale: z.number().default(1),
  offset: z.number().default(0),
});
export type Preprocessing = z.infer<typeof preprocessingSchema>;
