ALTER TABLE "spent_rating_tokens" DROP CONSTRAINT "spent_rating_tokens_agreement_id_agreements_id_fk";
--> statement-breakpoint
ALTER TABLE "spent_rating_tokens" DROP COLUMN "agreement_id";