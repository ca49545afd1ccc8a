import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The project folder (holding package.json, drizzle/, schema/), whether the code runs from src/ or from the dist/ bundle. */
export const projectRoot = findRoot(path.dirname(fileURLToPath(import.meta.url)));
