import type { Role } from '@edgeloop/shared';
import type { Database } from './db/database';
import type { Logger } from './logger';
import type { ObjectStore } from './storage/object-store';

/** The I/O a service may use. Injected, so services run against real PGlite/Postgres in tests without HTTP. */
export interface HubDeps {
  db: Database;
  store: ObjectStore;
  now: () => Date;
  log: Logger;
}

/** Who is calling: the token's id, name and role. `createdBy` columns record the name. */
export interface Caller {
  tokenId: string | null;
  name: string;
  role: Role;
}
