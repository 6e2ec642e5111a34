/**
 * Where a person finds the first admin token, told to anyone who asks (the admin's sign-in form, the PWA's settings):
 * the file the hub wrote on first start, named relative to the hub's working directory (".edgeloop/admin-token" with
 * the default HUB_DATA_DIR), never as an absolute path. An absolute path would tell every caller how the server's
 * disk is laid out (user names, mount points), and "is this request from this machine?" cannot be trusted behind a
 * reverse proxy on the same host, so a data directory outside the working directory is named by its setting only;
 * the hub's log names the full path at start for whoever runs it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The first admin token's file name in the data directory. */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface SignInHint {
  /** The first admin token's file relative to the hub's working directory; null when it lies outside it (or this hub writes none). */
  adminTokenFile: string | null;
  /** Whether the hub holds that file now (false: it was deleted, or another hub process wrote it). */
  written: boolean;
  /** The setting that names the data directory. */
  dataDirSetting: 'HUB_DATA_DIR';
  /** The above as one sentence a person acts on. */
  hint: string;
}

const CREATE_COMMAND = 'npx edgeloop token create --role admin --name <you>';

/** `file`: the absolute path the bootstrap admin token is written to (undefined where this process writes none); `cwd`: the hub's working directory. */
export function signInHint(file: string | undefined, cwd: string): SignInHint {
  const relative = file ? path.relative(cwd, file) : '';
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const adminTokenFile = inside ? relative.split(path.sep).join('/') : null;
  const written = file ? fs.existsSync(file) : false;
  const where = adminTokenFile
    ? `the file ${adminTokenFile} (in the folder the hub was started from)`
    : 'the file admin-token in the hub\'s data directory (the HUB_DATA_DIR setting; the hub\'s log names the full path when it starts)';
  const hint = written
    ? `The hub wrote its first admin token to ${where}. Paste it to sign in, then create tokens for people and devices.`
    : `The hub keeps its first admin token in ${where}, but that file is not there now. Whoever runs the hub can create an admin token with: ${CREATE_COMMAND}`;
  return { adminTokenFile, written, dataDirSetting: 'HUB_DATA_DIR', hint };
}
