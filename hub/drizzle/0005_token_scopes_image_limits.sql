ALTER TABLE "api_tokens" ADD COLUMN "project_ids" uuid[];--> statement-breakpoint
ALTER TABLE "projects" ADD COLUMN "max_image_pixels" integer DEFAULT 16777216 NOT NULL;--> statement-breakpoint
ALTER TABLE "uploads" ADD COLUMN "created_by_token_id" uuid;--> statement-breakpoint
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_created_by_token_id_api_tokens_id_fk" FOREIGN KEY ("created_by_token_id") REFERENCES "public"."api_tokens"("id") ON DELETE no action ON UPDATE no action;