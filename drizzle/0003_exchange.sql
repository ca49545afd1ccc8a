CREATE TABLE "exchange_inbound_records" (
	"issuer" text NOT NULL,
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"ref" uuid,
	"issued_at" timestamp with time zone NOT NULL,
	"signed_kid" text NOT NULL,
	"jws_enc" text NOT NULL,
	"content_hmac" text NOT NULL,
	"subject_id_hmac" text NOT NULL,
	"state" text NOT NULL,
	"person_id" uuid,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone,
	CONSTRAINT "exchange_inbound_records_issuer_id_pk" PRIMARY KEY("issuer","id")
);
--> statement-breakpoint
CREATE TABLE "exchange_outbound_records" (
	"id" uuid PRIMARY KEY NOT NULL,
	"partner_code" text NOT NULL,
	"type" text NOT NULL,
	"ref" uuid,
	"signed_kid" text NOT NULL,
	"jws_enc" text NOT NULL,
	"subject_id_hmac" text NOT NULL,
	"status" text DEFAULT 'QUEUED' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_attempt_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"seq" bigint
);
--> statement-breakpoint
CREATE TABLE "exchange_seen_tokens" (
	"issuer" text NOT NULL,
	"jti" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "exchange_seen_tokens_issuer_jti_pk" PRIMARY KEY("issuer","jti")
);
--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ADD CONSTRAINT "exchange_inbound_records_issuer_partners_county_code_fk" FOREIGN KEY ("issuer") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ADD CONSTRAINT "exchange_outbound_records_partner_code_partners_county_code_fk" FOREIGN KEY ("partner_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "exchange_inbound_received_idx" ON "exchange_inbound_records" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "exchange_inbound_state_idx" ON "exchange_inbound_records" USING btree ("state","received_at");--> statement-breakpoint
CREATE INDEX "exchange_inbound_subject_idx" ON "exchange_inbound_records" USING btree ("subject_id_hmac");--> statement-breakpoint
CREATE UNIQUE INDEX "exchange_outbound_seq_idx" ON "exchange_outbound_records" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "exchange_outbound_partner_seq_idx" ON "exchange_outbound_records" USING btree ("partner_code","seq");--> statement-breakpoint
CREATE INDEX "exchange_outbound_due_idx" ON "exchange_outbound_records" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "exchange_outbound_unpublished_idx" ON "exchange_outbound_records" USING btree ("created_at") WHERE "exchange_outbound_records"."seq" is null;--> statement-breakpoint
CREATE INDEX "exchange_outbound_kid_idx" ON "exchange_outbound_records" USING btree ("signed_kid") WHERE "exchange_outbound_records"."status" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "exchange_seen_tokens_expiry_idx" ON "exchange_seen_tokens" USING btree ("expires_at");