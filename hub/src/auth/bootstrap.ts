import fs from 'node:fs';
import path from 'node:path';
import type { HubDeps } from '../deps';
import { PRIVATE_FILE_MODE, ensurePrivateDir, writePrivateFileAtomic } from '../storage/private-dir';
import { ADMIN_TOKEN_FILE } from './sign-in-hint';
import { countActiveAdminTokens, createToken } from './token.service';

/**
 * A fresh hub has no tokens, so nobody could create one through the API. On first start it makes an
 * admin token and writes it, readable by the owner only, to `<dataDir>/admin-token`.
 */
export async function ensureBootstrapAdmin(deps: HubDeps, dataDir: string): Promise<void> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if ((await countActiveAdminTokens(deps)) > 0) {
    if (fs.existsSync(file)) {
      if ((fs.statSync(file).mode & 0o777) !== PRIVATE_FILE_MODE) fs.chmodSync(file, PRIVATE_FILE_MODE);
      deps.log.info(`admin token: ${file}`);
    }
    return;
  }
  const { secret } = await createToken(deps, { name: 'bootstrap-admin', role: 'admin', createdBy: 'hub' });
  ensurePrivateDir(dataDir);
  // A new file replaces any old one: writing over an existing file would keep that file's (maybe loose) mode.
  writePrivateFileAtomic(file, `${secret}\n`);
  deps.log.info(`created the first admin token and wrote it to ${file} (only its hash is stored)`);
}
