-- The histories of inquiries and incoming notices are append-only, like partner_history (same function).
CREATE TRIGGER inquiry_events_append_only BEFORE UPDATE OR DELETE ON inquiry_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER inquiry_events_no_truncate BEFORE TRUNCATE ON inquiry_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER incoming_notice_events_append_only BEFORE UPDATE OR DELETE ON incoming_notice_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER incoming_notice_events_no_truncate BEFORE TRUNCATE ON incoming_notice_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change();
