CREATE TABLE "agreement_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agreement_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"agreement_id" uuid NOT NULL,
	"action" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "agreements" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"previous_id" uuid,
	"status" text DEFAULT 'DRAFT' NOT NULL,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"official_user_id" uuid NOT NULL,
	"official_commitments" text[] NOT NULL,
	"person_commitments" text[] NOT NULL,
	"cadence" text NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date,
	"sharing_counties" text[] DEFAULT '{}'::text[] NOT NULL,
	"official_signed_at" timestamp with time zone,
	"official_sign_method" text,
	"official_sign_ref" text,
	"person_signed_at" timestamp with time zone,
	"person_sign_method" text,
	"person_sign_ref" text,
	"activated_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	"end_note" text,
	"next_due_period" text,
	"next_due_start" date,
	"next_due_on" date,
	"last_report_period" text,
	"last_report_on" date,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "commitment_items" (
	"code" text PRIMARY KEY NOT NULL,
	"side" text NOT NULL,
	"text_zh" text NOT NULL,
	"text_en" text NOT NULL,
	"sort_order" integer NOT NULL,
	"active" boolean DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deposit_complaints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"agreement_id" uuid NOT NULL,
	"village_code" text NOT NULL,
	"town_code" text NOT NULL,
	"description" text NOT NULL,
	"reported_on" date NOT NULL,
	"recorded_by" uuid,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"resolution" text,
	"resolved_at" timestamp with time zone,
	"resolved_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "liaison_contacts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"organisation" text NOT NULL,
	"county_code" text NOT NULL,
	"phone" text,
	"role" text,
	"active" boolean DEFAULT true NOT NULL,
	"notes" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "consents" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"scope" text DEFAULT '' NOT NULL,
	"method" text NOT NULL,
	"given_on" date NOT NULL,
	"recorded_by" text,
	"withdrawn_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "dependants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"relation" text NOT NULL,
	"age_band" text NOT NULL,
	"caregiver_name" text,
	"caregiver_phone" text,
	"service_needs" text[] DEFAULT '{}'::text[] NOT NULL,
	"note" text
);
--> statement-breakpoint
CREATE TABLE "people" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"id_number_enc" text,
	"id_number_hmac" text,
	"id_number_masked" text,
	"home_village_code" text NOT NULL,
	"home_town_code" text NOT NULL,
	"phone" text,
	"current_county_code" text,
	"current_town" text,
	"current_area" text,
	"employer" text,
	"occupation" text,
	"departure_date" date,
	"status" text DEFAULT 'AWAY' NOT NULL,
	"liaison_contact_id" uuid,
	"returned_on" date,
	"withdrawn_at" timestamp with time zone,
	"erased_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "person_changes" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "person_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"person_id" uuid NOT NULL,
	"home_village_code" text NOT NULL,
	"fields" text[] NOT NULL,
	"source" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "status_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid NOT NULL,
	"agreement_id" uuid,
	"village_code" text NOT NULL,
	"period" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"arrival" text NOT NULL,
	"reported_on" date NOT NULL,
	"place_county_code" text,
	"place_town" text,
	"place_area" text,
	"employer" text,
	"work_status" text,
	"phone" text,
	"needs" text[] DEFAULT '{}'::text[] NOT NULL,
	"needs_note" text,
	"note" text,
	"liaison_contact_id" uuid,
	"supersedes_id" uuid,
	"superseded_at" timestamp with time zone,
	"recorded_by_type" text NOT NULL,
	"recorded_by_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "agreement_events" ADD CONSTRAINT "agreement_events_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_previous_id_agreements_id_fk" FOREIGN KEY ("previous_id") REFERENCES "public"."agreements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "agreements" ADD CONSTRAINT "agreements_official_user_id_users_id_fk" FOREIGN KEY ("official_user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deposit_complaints" ADD CONSTRAINT "deposit_complaints_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deposit_complaints" ADD CONSTRAINT "deposit_complaints_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deposit_complaints" ADD CONSTRAINT "deposit_complaints_resolved_by_users_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dependants" ADD CONSTRAINT "dependants_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "people" ADD CONSTRAINT "people_home_village_code_divisions_code_fk" FOREIGN KEY ("home_village_code") REFERENCES "public"."divisions"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "people" ADD CONSTRAINT "people_liaison_contact_id_liaison_contacts_id_fk" FOREIGN KEY ("liaison_contact_id") REFERENCES "public"."liaison_contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "person_changes" ADD CONSTRAINT "person_changes_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_reports" ADD CONSTRAINT "status_reports_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_reports" ADD CONSTRAINT "status_reports_agreement_id_agreements_id_fk" FOREIGN KEY ("agreement_id") REFERENCES "public"."agreements"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_reports" ADD CONSTRAINT "status_reports_liaison_contact_id_liaison_contacts_id_fk" FOREIGN KEY ("liaison_contact_id") REFERENCES "public"."liaison_contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_reports" ADD CONSTRAINT "status_reports_supersedes_id_status_reports_id_fk" FOREIGN KEY ("supersedes_id") REFERENCES "public"."status_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agreement_events_agreement_idx" ON "agreement_events" USING btree ("agreement_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "agreements_person_version_uq" ON "agreements" USING btree ("person_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "agreements_one_active_uq" ON "agreements" USING btree ("person_id") WHERE "agreements"."status" = 'ACTIVE';--> statement-breakpoint
CREATE UNIQUE INDEX "agreements_one_draft_uq" ON "agreements" USING btree ("person_id") WHERE "agreements"."status" = 'DRAFT';--> statement-breakpoint
CREATE INDEX "agreements_village_due_idx" ON "agreements" USING btree ("village_code","next_due_on","id") WHERE "agreements"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "agreements_town_due_idx" ON "agreements" USING btree ("town_code","next_due_on","id") WHERE "agreements"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "agreements_due_idx" ON "agreements" USING btree ("next_due_on","id") WHERE "agreements"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "agreements_valid_to_idx" ON "agreements" USING btree ("valid_to") WHERE "agreements"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "deposit_complaints_town_idx" ON "deposit_complaints" USING btree ("town_code","status");--> statement-breakpoint
CREATE INDEX "deposit_complaints_agreement_idx" ON "deposit_complaints" USING btree ("agreement_id");--> statement-breakpoint
CREATE INDEX "liaison_contacts_county_idx" ON "liaison_contacts" USING btree ("county_code","active");--> statement-breakpoint
CREATE UNIQUE INDEX "consents_active_uq" ON "consents" USING btree ("person_id","kind","scope") WHERE "consents"."withdrawn_at" is null;--> statement-breakpoint
CREATE INDEX "consents_scope_idx" ON "consents" USING btree ("kind","scope") WHERE "consents"."withdrawn_at" is null;--> statement-breakpoint
CREATE INDEX "dependants_person_idx" ON "dependants" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "people_id_hmac_uq" ON "people" USING btree ("id_number_hmac");--> statement-breakpoint
CREATE INDEX "people_village_name_idx" ON "people" USING btree ("home_village_code","name" collate "C","id");--> statement-breakpoint
CREATE INDEX "people_town_name_idx" ON "people" USING btree ("home_town_code","name" collate "C","id");--> statement-breakpoint
CREATE INDEX "people_name_idx" ON "people" USING btree ("name" collate "C","id");--> statement-breakpoint
CREATE INDEX "people_destination_idx" ON "people" USING btree ("current_county_code");--> statement-breakpoint
CREATE INDEX "people_erasure_idx" ON "people" USING btree ("status","withdrawn_at") WHERE "people"."erased_at" is null;--> statement-breakpoint
CREATE INDEX "person_changes_village_idx" ON "person_changes" USING btree ("home_village_code","id");--> statement-breakpoint
CREATE INDEX "person_changes_person_idx" ON "person_changes" USING btree ("person_id");--> statement-breakpoint
CREATE UNIQUE INDEX "status_reports_current_uq" ON "status_reports" USING btree ("person_id","period") WHERE "status_reports"."superseded_at" is null;--> statement-breakpoint
CREATE INDEX "status_reports_person_idx" ON "status_reports" USING btree ("person_id","period_start");--> statement-breakpoint
CREATE INDEX "status_reports_agreement_idx" ON "status_reports" USING btree ("agreement_id");--> statement-breakpoint
CREATE INDEX "status_reports_village_idx" ON "status_reports" USING btree ("village_code","reported_on");