-- Rating invitations queued before links were signed at send time hold a usable link in their text, readable by
-- administrators (notifications). Each is tied to the person's agreement (the active one, else the latest version)
-- and its link replaced by the slot the sender fills with a freshly signed link (ratingInvitationText), so those
-- still to be sent (or requeued) reach the person with a working link and no stored text holds one.
UPDATE "notifications" n SET "agreement_id" = (
  SELECT a."id" FROM "agreements" a WHERE a."person_id" = n."person_id" ORDER BY (a."status" = 'ACTIVE') DESC, a."version" DESC LIMIT 1
) WHERE n."kind" = 'RATING_INVITATION' AND n."agreement_id" IS NULL;--> statement-breakpoint
UPDATE "notifications" SET "body" = regexp_replace("body", '[!-~]*[?&]token=[A-Za-z0-9._-]+', '{link}', 'g')
WHERE "kind" = 'RATING_INVITATION' AND "body" ~ '[?&]token=';
