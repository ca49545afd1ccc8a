import fs from 'node:fs';
import path from 'node:path';
import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../audit/service';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import { badInput } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { projectRoot } from '../paths';
import { divisions } from './tables';

export type Division = typeof divisions.$inferSelect;
export type DivisionLevel = Division['level'];

const Entry = z.object({ code: z.string().regex(/^(\d{6}|\d{9}|\d{12})$/), name: z.string().trim().min(1).max(100) });
export type DivisionEntry = z.infer<typeof Entry>;

export function levelOf(code: string): DivisionLevel {
  return code.length === 6 ? 'COUNTY' : code.length === 9 ? 'TOWN' : 'VILLAGE';
}

export function parentOf(code: string): string | null {
  return code.length === 12 ? code.slice(0, 9) : code.length === 9 ? code.slice(0, 6) : null;
}

/** Reads `code,name` CSV (header optional) or JSON (`[{code,name}]` or `{divisions:[...]}`). */
export function parseDivisionFile(file: string): DivisionEntry[] {
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  let raw: unknown;
  if (file.toLowerCase().endsWith('.json')) {
    const json = JSON.parse(text) as unknown;
    raw = Array.isArray(json) ? json : (json as { divisions?: unknown }).divisions;
  } else {
    raw = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !/^code\s*,/i.test(l))
      .map((l) => {
        const [code, ...name] = l.split(',');
        return { code: code?.trim(), name: name.join(',').trim() };
      });
  }
  const parsed = z.array(Entry).safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw badInput('divisions', `${file}: entry ${i.path.join('.')}: ${i.message}`);
  }
  return parsed.data;
}

export function builtInSeedFile(countyCode: string): string | undefined {
  const file = path.join(projectRoot, 'src/jurisdiction/seed', `${countyCode}.json`);
  return fs.existsSync(file) ? file : undefined;
}

/**
 * Checks the list describes one county and its towns and villages, each under an existing parent,
 * then upserts it in one transaction.
 */
export async function loadDivisions(db: Db, caller: Caller, countyCode: string, entries: DivisionEntry[]): Promise<number> {
  authorize(caller.actor, 'division.manage');
  const codes = new Set(entries.map((e) => e.code));
  for (const e of entries) {
    if (!e.code.startsWith(countyCode)) throw badInput('divisions', `${e.code} is not in county ${countyCode}`);
  }
  return db.transaction(async (tx) => {
    const existing = new Set(
      (await tx.select({ code: divisions.code }).from(divisions).where(sql`${divisions.code} like ${countyCode + '%'}`)).map((r) => r.code),
    );
    for (const e of entries) {
      const parent = parentOf(e.code);
      if (parent && !codes.has(parent) && !existing.has(parent)) {
        throw badInput('divisions', `${e.code} has no parent ${parent} in the list or the database`);
      }
    }
    if (!codes.has(countyCode) && !existing.has(countyCode)) {
      entries = [{ code: countyCode, name: `County ${countyCode}` }, ...entries];
    }
    const sorted = [...entries].sort((a, b) => a.code.length - b.code.length);
    for (let i = 0; i < sorted.length; i += 500) {
      const chunk = sorted.slice(i, i + 500).map((e) => ({ code: e.code, name: e.name, level: levelOf(e.code), parentCode: parentOf(e.code) }));
      await tx
        .insert(divisions)
        .values(chunk)
        .onConflictDoUpdate({ target: divisions.code, set: { name: sql`excluded.name` } });
    }
    await appendAudit(tx, caller, { action: 'division.load', targetType: 'Division', targetId: countyCode, details: { count: sorted.length } });
    return sorted.length;
  });
}

export async function divisionCount(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(divisions);
  return row?.n ?? 0;
}

export async function getDivision(db: Db, code: string): Promise<Division | undefined> {
  const [row] = await db.select().from(divisions).where(eq(divisions.code, code));
  return row;
}

export function getDivisions(db: Db, codes: readonly string[]): Promise<Division[]> {
  return lookupMany(db, 'divisions_by_code', codes, (d) => d.select().from(divisions).where(anyOfIds(divisions.code, 'text')).prepare('divisions_by_code'));
}

/** Batch: the children of these divisions, by code (Division.children on a page of divisions). */
export function childrenOf(db: Db, parentCodes: readonly string[]): Promise<Division[]> {
  return lookupMany(db, 'divisions_children', parentCodes, (d) =>
    d.select().from(divisions).where(anyOfIds(divisions.parentCode, 'text')).orderBy(asc(divisions.code)).prepare('divisions_children'),
  );
}

export async function listDivisions(db: Db, filter: { parentCode?: string | null; level?: DivisionLevel | null }): Promise<Division[]> {
  const where = [];
  if (filter.parentCode) where.push(eq(divisions.parentCode, filter.parentCode));
  if (filter.level) where.push(eq(divisions.level, filter.level));
  return db.select().from(divisions).where(and(...where)).orderBy(asc(divisions.code));
}

/** Throws BAD_USER_INPUT unless `code` is a division of the given level. */
export async function requireDivision(db: Db, field: string, code: string, level: DivisionLevel): Promise<Division> {
  const d = await getDivision(db, code);
  if (!d || d.level !== level) throw badInput(field, `${code} is not a known ${level.toLowerCase()} code`);
  return d;
}
