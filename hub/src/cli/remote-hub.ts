/** A tRPC client for CLI commands that talk to a running hub with a token (what CI does). */
import { createTRPCClient, httpLink } from '@trpc/client';
import type { AppRouter } from '../api/app.router';
import { loadEnv } from '../env';
import { HubError } from '../errors';

export interface RemoteOptions {
  hub?: string;
  token?: string;
}

export function remoteHub(options: RemoteOptions) {
  const env = loadEnv();
  const url = (options.hub ?? env.EDGELOOP_HUB_URL).replace(/\/$/, '');
  const token = options.token ?? env.EDGELOOP_TOKEN;
  if (!token) throw new HubError('UNAUTHORIZED', 'give --token or set EDGELOOP_TOKEN (create one with: edgeloop token create --role ci --name <who> --project <slug>)');
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` } })] });
}

export type RemoteHub = ReturnType<typeof remoteHub>;
