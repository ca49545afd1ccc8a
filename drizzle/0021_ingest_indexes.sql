DROP INDEX "status_reports_agreement_idx";--> statement-breakpoint
DROP INDEX "audit_log_at_idx";--> statement-breakpoint
DROP INDEX "exchange_inbound_state_idx";--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING brin ("at");--> statement-breakpoint
CREATE INDEX "exchange_inbound_state_idx" ON "exchange_inbound_records" USING btree ("state","received_at") WHERE "exchange_inbound_records"."state" <> 'APPLIED';