import fs from 'node:fs';
import path from 'node:path';
import type { HubDeps } from '../deps';
import { countActiveAdminTokens, createToken } from './token.service';

/**
 * A fresh hub has no tokens, so nobody could create one through the API. On first start it makes an
 * admin token and writes it, readable by the owner only, to `<dataDir>/admin-token`.
 */
export async function ensureBootstrapAdmin(deps: HubDeps, dataDir: string): Promise<void> {
  const file = path.join(dataDir, 'admin-token');
  if ((await countActiveAdminTokens(deps)) > 0) {
    if (fs.existsSync(file)) deps.log.info(`admin token: ${file}`);
    return;
  }
  const { secret } = await createToken(deps, { name: 'bootstrap-admin', role: 'admin', createdBy: 'hub' });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  deps.log.info(`created the first admin token and wrote it to ${file} (only its hash is stored)`);
}
