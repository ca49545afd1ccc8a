-- Append-only history tables (partner_history now; other modules' history tables may use the same function):
-- refuse UPDATE, DELETE and TRUNCATE at the database, naming the table.
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER partner_history_append_only BEFORE UPDATE OR DELETE ON partner_history
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER partner_history_no_truncate BEFORE TRUNCATE ON partner_history
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
