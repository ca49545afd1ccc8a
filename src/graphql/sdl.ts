import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';
import { parse, type DocumentNode } from 'graphql';

export const schemaDir = path.join(projectRoot, 'schema');

/** The contract: every `schema/*.graphql` file, in name order (base first). */
export function loadTypeDefs(): DocumentNode[] {
  return fs
    .readdirSync(schemaDir)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'base.graphql' ? -1 : b === 'base.graphql' ? 1 : a.localeCompare(b)))
    .map((f) => parse(fs.readFileSync(path.join(schemaDir, f), 'utf8')));
}
