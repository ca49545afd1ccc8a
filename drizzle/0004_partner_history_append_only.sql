-- Partner agreement history is append-only, like the audit log: refuse UPDATE, DELETE and TRUNCATE at the database.
CREATE FUNCTION partner_history_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'partner_history is append-only';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER partner_history_no_update_delete BEFORE UPDATE OR DELETE ON partner_history
  FOR EACH ROW EXECUTE FUNCTION partner_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER partner_history_no_truncate BEFORE TRUNCATE ON partner_history
  FOR EACH STATEMENT EXECUTE FUNCTION partner_history_refuse_change();
