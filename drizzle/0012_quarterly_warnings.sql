CREATE TABLE "quarterly_warnings" (
	"quarter" text PRIMARY KEY NOT NULL,
	"thresholds" jsonb NOT NULL,
	"villages" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
