-- Room on every page of people for a new version of a row, so an update that changes no indexed column (a new
-- phone, town, area, employer or occupation: most of a partner's CONTACT_UPDATEs and STATUS_REPORTs) is HOT and
-- writes no entry into the table's seven indexes (docs/performance.md, "Exchange ingest"). drizzle-kit does not
-- model storage parameters, hence this hand-written migration. It applies to pages written from now on; existing
-- pages get the room when the table is rewritten (VACUUM FULL or pg_repack, in a maintenance window).
ALTER TABLE "people" SET (fillfactor = 90);
