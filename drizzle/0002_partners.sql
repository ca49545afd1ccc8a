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
ALTER TABLE "partner_history" ADD CONSTRAINT "partner_history_county_code_partners_county_code_fk" FOREIGN KEY ("county_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "partner_keys" ADD CONSTRAINT "partner_keys_county_code_partners_county_code_fk" FOREIGN KEY ("county_code") REFERENCES "public"."partners"("county_code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "partner_history_county_idx" ON "partner_history" USING btree ("county_code","id");