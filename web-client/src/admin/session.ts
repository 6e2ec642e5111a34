/** What every admin page gets: the signed-in client, who the caller is, and the project it shows. */
import type { HubClient, RouterOutputs } from '../hub-client';

export type Project = RouterOutputs['projects']['list'][number];
export type Whoami = RouterOutputs['auth']['whoami'];

export interface Session {
  client: HubClient;
  whoami: Whoami;
  projects: Project[];
  /** Reads the projects again (after an import, upload, commit or a new project). */
  refreshProjects(): Promise<void>;
}

export interface PageProps {
  session: Session;
  project: Project;
}

/** Whether the caller may change things an ML engineer changes (train, publish, promote, settings). */
export const canEngineer = (whoami: Whoami): boolean => whoami.role === 'admin' || whoami.role === 'engineer';
