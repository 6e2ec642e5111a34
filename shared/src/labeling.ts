/**
 * Labeling settings of a project: whether images of reviewed predictions are collected from devices, and the rules
 * that accept a pending reviewed image into the working set besides a person in the admin's review inbox.
 */
import { z } from 'zod';
import { text } from './text';

export const REVIEW_ITEM_STATUSES = ['pending', 'accepted', 'rejected'] as const;
export type ReviewItemStatus = (typeof REVIEW_ITEM_STATUSES)[number];

/** Who accepted a reviewed image: a person in the inbox, labelers agreeing, or a trusted labeler. */
export const ACCEPTANCE_RULES = ['person', 'agreement', 'trusted-labeler'] as const;
export type AcceptanceRule = (typeof ACCEPTANCE_RULES)[number];

export const reviewAcceptanceSchema = z.object({
  /** This many distinct labelers giving the same label accept it; null = off. */
  agreement: z.number().int().min(2).max(10).nullable().default(2),
  /** Token names whose label alone accepts it. */
  trustedLabelers: z.array(text(200).min(1, 'a trusted labeler is a token name, not empty')).max(100, 'at most 100 trusted labelers').default([]),
});
export type ReviewAcceptance = z.infer<typeof reviewAcceptanceSchema>;

export const labelingSettingsSchema = z.object({
  /** Images of reviewed predictions are sent to the hub (the PWA says so to its user). Off by default. */
  collectReviewedImages: z.boolean().default(false),
  acceptance: reviewAcceptanceSchema.prefault({}),
});
export type LabelingSettings = z.infer<typeof labelingSettingsSchema>;
export const DEFAULT_LABELING_SETTINGS: LabelingSettings = labelingSettingsSchema.parse({});

/** Where a pending reviewed image came from: collected by the project setting, or shared by the labeler. */
export const REVIEW_ITEM_SOURCES = ['device', 'review'] as const;
export type ReviewItemSource = (typeof REVIEW_ITEM_SOURCES)[number];

/** The working set's split of an accepted reviewed image, from its sha256 alone (so every hub agrees): 80/10/10. */
export function splitForSha256(sha256: string): 'train' | 'val' | 'test' {
  if (!/^[0-9a-f]{8}/.test(sha256)) throw new RangeError(`sha256 must be lower-case hex, got "${sha256.slice(0, 16)}"`);
  const u = parseInt(sha256.slice(0, 8), 16) / 2 ** 32;
  return u < 0.8 ? 'train' : u < 0.9 ? 'val' : 'test';
}

/** What a person decides on a pending item in the review inbox. */
export const INBOX_DECISIONS = ['accept', 'reject'] as const;
export type InboxDecision = (typeof INBOX_DECISIONS)[number];
