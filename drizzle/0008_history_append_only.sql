-- Membership and supervision histories are never edited, like agreement_events (rows may only go away with their
-- record, when erasure removes a person's memberships).
CREATE TRIGGER membership_events_no_update BEFORE UPDATE ON membership_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
--> statement-breakpoint
CREATE TRIGGER supervision_events_no_update BEFORE UPDATE ON supervision_events
  FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change();
