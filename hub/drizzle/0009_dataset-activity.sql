CREATE TABLE "dataset_activities" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"step" text NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"total" integer,
	"started_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"failed" text,
	CONSTRAINT "dataset_activities_kind" CHECK ("dataset_activities"."kind" in ('import', 'commit'))
);
--> statement-breakpoint
ALTER TABLE "dataset_activities" ADD CONSTRAINT "dataset_activities_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dataset_activities_project" ON "dataset_activities" USING btree ("project_id","id");