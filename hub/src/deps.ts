import type { Role } from '@edgeloop/shared';
import type { Database } from './db/database';
import type { JobQueue } from './jobs/job-queue';
import type { Logger } from './logger';
import type { KeyRing } from './registry/key-ring';
import type { ObjectStore } from './storage/object-store';

/** The I/O a service may use. Injected, so services run against real PGlite/Postgres in tests without HTTP. */
export interface HubDeps {
  db: Database;
  store: ObjectStore;
  queue: JobQueue;
  now: () => Date;
  log: Logger;
  /** Where published model files are fetched from: the hub's /cdn route by default, or a CDN in front of the bucket. */
  cdnBaseUrl: string;
  /** Local scratch space (decoded datasets, loaded models); safe to delete. */
  cacheDir: string;
  /** The signing keys (files outside the database): the active one signs manifests and pointers. */
  keys: KeyRing;
  /** Where the hub writes its first admin token (<dataDir>/admin-token); absent where this process writes none. */
  adminTokenFile?: string;
}

/** Who is calling: the token's id, name, role and project scope. `createdBy` columns record the name. */
export interface Caller {
  tokenId: string | null;
  name: string;
  role: Role;
  /**
   * Slugs of the projects this token may act on; null = every project. Slugs, not ids, because every procedure names
   * its project by slug, so the scope check in trpc.ts compares strings before any lookup and answers the same whether
   * or not another project exists. The token row stores ids and authenticate() maps them to the current slugs on each
   * request, so this stays right even if slugs (immutable today) ever become renamable.
   */
  projects: string[] | null;
}
