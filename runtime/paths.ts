// Folders relative to the repository, whatever the working directory.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const dataDir = path.join(repoRoot, '.data');
export const resolveFromRepo = (p: string) => (path.isAbsolute(p) ? p : path.join(repoRoot, p));
