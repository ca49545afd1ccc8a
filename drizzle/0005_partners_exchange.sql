CREATE TABLE "partner_history" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "partner_history_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"county_code" text NOT NULL,
	"action" text NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"note" text,
	"changes" jsonb
);
--> statement-breakpoint
CREATE TABLE "partner_keys" (
	"county_code" text NOT NULL,
	"kid" text NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"source" text NOT NULL,
	"published" boolean DEFAULT true NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_published_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "partner_keys_county_code_kid_pk" PRIMARY KEY("county_code","kid")
);
--> statement-breakpoint
CREATE TABLE "partners" (
	"county_code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"base_url" text NOT NULL,
	"jwks_url" text NOT NULL,
	"status" text NOT NULL,
	"valid_from" date NOT NULL,
	"valid_to" date NOT NULL,
	"inbound_types" text[] NOT NULL,
	"outbound_types" text[] NOT NULL,
	"lookup_allowed" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"keys_loaded_at" timestamp with time zone,
	"keys_refresh_claimed_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"last_reached_at" timestamp with time zone,
	CONSTRAINT "partners_county_code_shape" CHECK ("partners"."county_code" ~ '^[0-9]{6}$'),
	CONSTRAINT "partners_valid_dates" CHECK ("partners"."valid_from" <= "partners"."valid_to")
);
--> statement-breakpoint
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
ALTER TABLE "partner_history" ADD CONSTRAINT "partner_history_county_code_partners_county_code_fk" FOREIGN KEY ("county_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_keys" ADD CONSTRAINT "partner_keys_county_code_partners_county_code_fk" FOREIGN KEY ("county_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_inbound_records" ADD CONSTRAINT "exchange_inbound_records_issuer_partners_county_code_fk" FOREIGN KEY ("issuer") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exchange_outbound_records" ADD CONSTRAINT "exchange_outbound_records_partner_code_partners_county_code_fk" FOREIGN KEY ("partner_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "partner_history_county_idx" ON "partner_history" USING btree ("county_code","id");--> statement-breakpoint
CREATE INDEX "exchange_inbound_received_idx" ON "exchange_inbound_records" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "exchange_inbound_state_idx" ON "exchange_inbound_records" USING btree ("state","received_at");--> statement-breakpoint
CREATE INDEX "exchange_inbound_subject_idx" ON "exchange_inbound_records" USING btree ("subject_id_hmac");--> statement-breakpoint
CREATE UNIQUE INDEX "exchange_outbound_seq_idx" ON "exchange_outbound_records" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "exchange_outbound_partner_seq_idx" ON "exchange_outbound_records" USING btree ("partner_code","seq");--> statement-breakpoint
CREATE INDEX "exchange_outbound_due_idx" ON "exchange_outbound_records" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "exchange_outbound_unpublished_idx" ON "exchange_outbound_records" USING btree ("created_at") WHERE "exchange_outbound_records"."seq" is null;--> statement-breakpoint
CREATE INDEX "exchange_outbound_kid_idx" ON "exchange_outbound_records" USING btree ("signed_kid") WHERE "exchange_outbound_records"."status" = 'QUEUED';--> statement-breakpoint
CREATE INDEX "exchange_seen_tokens_expiry_idx" ON "exchange_seen_tokens" USING btree ("expires_at");