-- agreement_events refused only UPDATE: refuse DELETE and TRUNCATE too, like the other history tables (same function).
DROP TRIGGER agreement_events_no_update ON agreement_events;
--> statement-breakpoint
DROP FUNCTION agreement_events_refuse_change();
--> statement-breakpoint
CREATE TRIGGER agreement_events_append_only BEFORE UPDATE OR DELETE ON agreement_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER agreement_events_no_truncate BEFORE TRUNCATE ON agreement_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
