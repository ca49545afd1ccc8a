// Every table, gathered for drizzle-kit and the typed client. Each module owns its tables.
export * from './tables';
export * from '../agreements/tables';
export * from '../associations/tables';
export * from '../audit/tables';
export * from '../auth/tables';
export * from '../jurisdiction/tables';
export * from '../keys/tables';
export * from '../liaisons/tables';
export * from '../people/tables';
export * from '../ratings/tables';
export * from '../reminders/tables';
export * from '../reports/tables';
export * from '../partners/tables';
export * from '../exchange/tables';
export * from '../supervision/tables';
