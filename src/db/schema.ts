// Every table, gathered for drizzle-kit and the typed client. Each module owns its tables.
export * from './tables';
export * from '../agreements/tables';
export * from '../audit/tables';
export * from '../auth/tables';
export * from '../jurisdiction/tables';
export * from '../keys/tables';
export * from '../liaisons/tables';
export * from '../people/tables';
export * from '../reports/tables';
export * from '../partners/tables';
export * from '../exchange/tables';
export * from '../notices/tables';
export * from '../inquiries/tables';
export * from '../assistance/tables';
