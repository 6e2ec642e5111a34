/**
 * Which data a stored reference profile was computed on: the hub adds this to the builder's summary (the builder sees
 * embeddings only), so people can tell a profile of every held-out item from one of a sample.
 */
import { z } from 'zod';
import { referenceProfileSummarySchema } from './profile';

const count = z.number().int().min(0);
const splitUse = z.object({ used: count, available: count });

export const profileDataSourceSchema = z.object({
  datasetVersionId: z.string(),
  /** The weight encoding whose embeddings these are (the version's recommended one, what devices run). */
  encoding: z.string(),
  /** Items of each held-out split used, of those the dataset version has (fewer when sampled down to maxItems). */
  val: splitUse,
  test: splitUse,
  maxItems: count,
  sampled: z.boolean(),
  /** True when the dataset version has no val split and val is the train items training held out (every 12th). */
  valHeldOutOfTrain: z.boolean(),
  /** Largest |softmax(e · kernel + bias) - model output| seen: the head recovers the model's probabilities. */
  headError: z.number().min(0),
});
export type ProfileDataSource = z.infer<typeof profileDataSourceSchema>;

/** reference_profiles.summary as the hub stores it: the builder's summary and where its data came from. */
export const storedReferenceProfileSummarySchema = referenceProfileSummarySchema.extend({ dataSource: profileDataSourceSchema });
export type StoredReferenceProfileSummary = z.infer<typeof storedReferenceProfileSummarySchema>;
