CREATE TABLE "incoming_notice_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "incoming_notice_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"notice_id" uuid NOT NULL,
	"action" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incoming_notices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"partner_code" text NOT NULL,
	"departure_record_id" uuid NOT NULL,
	"subject_id_hmac" text,
	"subject_id_masked" text,
	"subject_name" text,
	"left_on" date NOT NULL,
	"place_county_code" text NOT NULL,
	"place_town" text,
	"place_area" text,
	"phone" text,
	"employer" text,
	"cadence" text NOT NULL,
	"agreement_valid_to" date NOT NULL,
	"status" text DEFAULT 'OPEN' NOT NULL,
	"arrived_on" date,
	"arrival_record_id" uuid,
	"close_reason" text,
	"closed_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "inquiries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"direction" text NOT NULL,
	"partner_code" text NOT NULL,
	"record_id" uuid NOT NULL,
	"person_id" uuid,
	"notice_id" uuid,
	"village_code" text,
	"town_code" text,
	"subject_name" text,
	"subject_id_masked" text,
	"purpose" text NOT NULL,
	"question" text,
	"urgency" text NOT NULL,
	"issued_on" date NOT NULL,
	"due_on" date NOT NULL,
	"status" text NOT NULL,
	"result" text,
	"answer" text,
	"reply_record_id" uuid,
	"answered_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"erased_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "inquiry_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "inquiry_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"inquiry_id" uuid NOT NULL,
	"action" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "services_delivered" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"person_id" uuid,
	"notice_id" uuid,
	"village_code" text,
	"service" text NOT NULL,
	"delivered_on" date NOT NULL,
	"note" text,
	"delivered_by" text NOT NULL,
	"record_id" uuid,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "services_delivered_one_subject" CHECK (("services_delivered"."person_id" is null) <> ("services_delivered"."notice_id" is null))
);
--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ALTER COLUMN "jws_enc" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ALTER COLUMN "subject_id_hmac" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ALTER COLUMN "jws_enc" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ALTER COLUMN "subject_id_hmac" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ADD COLUMN "unmatched_reason" text;--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ADD COLUMN "erased_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ADD COLUMN "person_id" uuid;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ADD COLUMN "erased_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "incoming_notice_events" ADD CONSTRAINT "incoming_notice_events_notice_id_incoming_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."incoming_notices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incoming_notices" ADD CONSTRAINT "incoming_notices_partner_code_partners_county_code_fk" FOREIGN KEY ("partner_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiries" ADD CONSTRAINT "inquiries_partner_code_partners_county_code_fk" FOREIGN KEY ("partner_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiries" ADD CONSTRAINT "inquiries_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiries" ADD CONSTRAINT "inquiries_notice_id_incoming_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."incoming_notices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inquiry_events" ADD CONSTRAINT "inquiry_events_inquiry_id_inquiries_id_fk" FOREIGN KEY ("inquiry_id") REFERENCES "public"."inquiries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "services_delivered" ADD CONSTRAINT "services_delivered_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "services_delivered" ADD CONSTRAINT "services_delivered_notice_id_incoming_notices_id_fk" FOREIGN KEY ("notice_id") REFERENCES "public"."incoming_notices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "incoming_notice_events_notice_idx" ON "incoming_notice_events" USING btree ("notice_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "incoming_notices_record_uq" ON "incoming_notices" USING btree ("partner_code","departure_record_id");--> statement-breakpoint
CREATE INDEX "incoming_notices_subject_idx" ON "incoming_notices" USING btree ("partner_code","subject_id_hmac") WHERE "incoming_notices"."status" <> 'CLOSED';--> statement-breakpoint
CREATE INDEX "incoming_notices_list_idx" ON "incoming_notices" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "incoming_notices_closed_idx" ON "incoming_notices" USING btree ("closed_at") WHERE "incoming_notices"."erased_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "inquiries_record_uq" ON "inquiries" USING btree ("partner_code","direction","record_id");--> statement-breakpoint
CREATE INDEX "inquiries_person_idx" ON "inquiries" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "inquiries_notice_idx" ON "inquiries" USING btree ("notice_id");--> statement-breakpoint
CREATE INDEX "inquiries_village_idx" ON "inquiries" USING btree ("village_code","due_on","id");--> statement-breakpoint
CREATE INDEX "inquiries_town_idx" ON "inquiries" USING btree ("town_code","due_on","id");--> statement-breakpoint
CREATE INDEX "inquiries_list_idx" ON "inquiries" USING btree ("due_on","id");--> statement-breakpoint
CREATE INDEX "inquiries_open_idx" ON "inquiries" USING btree ("due_on","id") WHERE "inquiries"."status" in ('SENT', 'RECEIVED', 'UNMATCHED', 'MATCHED', 'VERIFIED');--> statement-breakpoint
CREATE INDEX "inquiry_events_inquiry_idx" ON "inquiry_events" USING btree ("inquiry_id","id");--> statement-breakpoint
CREATE INDEX "services_delivered_person_idx" ON "services_delivered" USING btree ("person_id","delivered_on");--> statement-breakpoint
CREATE INDEX "services_delivered_notice_idx" ON "services_delivered" USING btree ("notice_id","delivered_on");--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ADD CONSTRAINT "exchange_inbound_records_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ADD CONSTRAINT "exchange_outbound_records_person_id_people_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."people"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "exchange_inbound_person_idx" ON "exchange_inbound_records" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "exchange_outbound_person_idx" ON "exchange_outbound_records" USING btree ("person_id");--> statement-breakpoint
CREATE INDEX "exchange_outbound_subject_idx" ON "exchange_outbound_records" USING btree ("subject_id_hmac");