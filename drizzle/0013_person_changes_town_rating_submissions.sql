CREATE TABLE "rating_submissions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"official_user_id" uuid,
	"period" text NOT NULL,
	"score" integer NOT NULL,
	"comment" text
);
--> statement-breakpoint
DROP INDEX "spent_rating_tokens_agreement_period_uq";--> statement-breakpoint
ALTER TABLE "person_changes" ADD COLUMN "home_town_code" text GENERATED ALWAYS AS (left(home_village_code, 9)) STORED NOT NULL;--> statement-breakpoint
-- Hand-edited: links already spent name their person through the agreement (backfilled before NOT NULL).
ALTER TABLE "spent_rating_tokens" ADD COLUMN "person_id" uuid;--> statement-breakpoint
UPDATE "spent_rating_tokens" s SET "person_id" = a."person_id" FROM "agreements" a WHERE a."id" = s."agreement_id";--> statement-breakpoint
ALTER TABLE "spent_rating_tokens" ALTER COLUMN "person_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "rating_submissions" ADD CONSTRAINT "rating_submissions_official_user_id_users_id_fk" FOREIGN KEY ("official_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "rating_submissions_group_idx" ON "rating_submissions" USING btree ("village_code","period");--> statement-breakpoint
ALTER TABLE "spent_rating_tokens" ADD CONSTRAINT "spent_rating_tokens_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "person_changes_town_idx" ON "person_changes" USING btree ("home_town_code","id");--> statement-breakpoint
CREATE UNIQUE INDEX "spent_rating_tokens_person_period_uq" ON "spent_rating_tokens" USING btree ("person_id","period");