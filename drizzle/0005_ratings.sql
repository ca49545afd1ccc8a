CREATE TABLE "service_ratings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"official_user_id" uuid,
	"period" text NOT NULL,
	"score" integer NOT NULL,
	"comment" text,
	"submitted_on" date NOT NULL
);
--> statement-breakpoint
CREATE TABLE "spent_rating_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"agreement_id" uuid NOT NULL,
	"period" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service_ratings" ADD CONSTRAINT "service_ratings_official_user_id_users_id_fk" FOREIGN KEY ("official_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "spent_rating_tokens" ADD CONSTRAINT "spent_rating_tokens_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "service_ratings_village_idx" ON "service_ratings" USING btree ("village_code","submitted_on");--> statement-breakpoint
CREATE INDEX "service_ratings_town_idx" ON "service_ratings" USING btree ("town_code","submitted_on");--> statement-breakpoint
CREATE UNIQUE INDEX "spent_rating_tokens_agreement_period_uq" ON "spent_rating_tokens" USING btree ("agreement_id","period");