CREATE TABLE "quarterly_warnings" (
	"quarter" text PRIMARY KEY NOT NULL,
	"thresholds" jsonb NOT NULL,
	"villages" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "status_reports_village_idx";--> statement-breakpoint
CREATE INDEX "agreements_village_dates_idx" ON "agreements" USING btree ("village_code","activated_at","ended_at","person_id","cadence","valid_from","valid_to","version","id");--> statement-breakpoint
CREATE INDEX "status_reports_village_idx" ON "status_reports" USING btree ("village_code","period_end","period_start","person_id","reported_on","created_at");