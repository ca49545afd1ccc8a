DROP INDEX "service_ratings_village_idx";--> statement-breakpoint
CREATE INDEX "service_ratings_village_period_idx" ON "service_ratings" USING btree ("village_code","period");