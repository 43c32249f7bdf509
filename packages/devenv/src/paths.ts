import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, from src/ and dist/ alike: where the services' entry files and the AsyncAPI file are. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
