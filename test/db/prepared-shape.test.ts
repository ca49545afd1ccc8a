import { describe, expect, it } from 'vitest';
import { preparedShape, type Db } from '../../src/db/client';

describe('preparedShape', () => {
  it('builds a statement once per key and database, and keeps only the most recently used', () => {
    const db = {} as Db; // only its identity matters: statements are kept per database
    const other = {} as Db;
    const built: string[] = [];
    const get = (d: Db, key: string) => preparedShape(d, key, 2, () => (built.push(key), { key }));
    const a = get(db, 'a');
    expect(get(db, 'a')).toBe(a);
    get(db, 'b');
    get(other, 'a');
    expect(built).toEqual(['a', 'b', 'a']);
    get(db, 'a'); // a is now the most recently used of db's two...
    get(db, 'c'); // ...so b is dropped, not a
    expect(get(db, 'a')).toBe(a);
    get(db, 'b');
    expect(built).toEqual(['a', 'b', 'a', 'c', 'b']);
  });
});
