CREATE TABLE "care_visits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"dependant_id" uuid,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"relation" text NOT NULL,
	"age_band" text NOT NULL,
	"visited_on" date NOT NULL,
	"visitors" text NOT NULL,
	"needs_found" text[] DEFAULT '{}'::text[] NOT NULL,
	"note" text,
	"follow_up_due_on" date,
	"follow_up_done_on" date,
	"follow_up_note" text,
	"recorded_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "supervision_checks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"official_user_id" uuid NOT NULL,
	"agreement_id" uuid,
	"commitment_code" text NOT NULL,
	"finding" text NOT NULL,
	"evidence" text NOT NULL,
	"checked_on" date NOT NULL,
	"follow_up_due_on" date,
	"follow_up_done_on" date,
	"follow_up_note" text,
	"recorded_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "supervision_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "supervision_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"subject_type" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"action" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"details" jsonb
);
--> statement-breakpoint
ALTER TABLE "care_visits" ADD CONSTRAINT "care_visits_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "care_visits" ADD CONSTRAINT "care_visits_dependant_id_dependants_id_fk" FOREIGN KEY ("dependant_id") REFERENCES "public"."dependants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "care_visits" ADD CONSTRAINT "care_visits_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_checks" ADD CONSTRAINT "supervision_checks_official_user_id_users_id_fk" FOREIGN KEY ("official_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_checks" ADD CONSTRAINT "supervision_checks_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_checks" ADD CONSTRAINT "supervision_checks_commitment_code_commitment_items_code_fk" FOREIGN KEY ("commitment_code") REFERENCES "public"."commitment_items"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supervision_checks" ADD CONSTRAINT "supervision_checks_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "care_visits_town_idx" ON "care_visits" USING btree ("town_code","visited_on");--> statement-breakpoint
CREATE INDEX "care_visits_person_idx" ON "care_visits" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "supervision_checks_town_idx" ON "supervision_checks" USING btree ("town_code","checked_on");--> statement-breakpoint
CREATE INDEX "supervision_checks_village_idx" ON "supervision_checks" USING btree ("village_code","checked_on");--> statement-breakpoint
CREATE INDEX "supervision_events_subject_idx" ON "supervision_events" USING btree ("subject_id","id");