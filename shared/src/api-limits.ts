/** Limits of the hub's HTTP API that clients must respect; the hub answers a clear 400/413 beyond them. */

/** Most calls one batched tRPC request may carry (GET or POST). Clients set httpBatchLink's maxItems to this. */
export const MAX_BATCH_CALLS = 10;

/** Request body limit of every procedure that names no larger one (feedback.syncPredictions and registry.predict do). */
export const MAX_BODY_BYTES = 1024 * 1024;
