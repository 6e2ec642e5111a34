CREATE TABLE "labeling_settings" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"collect_reviewed_images" boolean DEFAULT false NOT NULL,
	"acceptance" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"trigger" text NOT NULL,
	"trigger_detail" text NOT NULL,
	"config" jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"outcome" text,
	"champion_version_id" uuid,
	"challenger_version_id" uuid,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "pipeline_runs_status" CHECK ("pipeline_runs"."status" in ('running', 'succeeded', 'failed', 'cancelled')),
	CONSTRAINT "pipeline_runs_trigger" CHECK ("pipeline_runs"."trigger" in ('manual', 'ci', 'alert', 'reviews', 'schedule'))
);
--> statement-breakpoint
CREATE TABLE "pipeline_settings" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"settings" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_step_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"step" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"line" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_steps" (
	"run_id" uuid NOT NULL,
	"step" text NOT NULL,
	"position" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"inputs_hash" text,
	"inputs" jsonb,
	"outputs" jsonb,
	"reused_from_run_id" uuid,
	"error" text,
	"job_id" text,
	"worker" text,
	"heartbeat_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "pipeline_steps_run_id_step_pk" PRIMARY KEY("run_id","step"),
	CONSTRAINT "pipeline_steps_status" CHECK ("pipeline_steps"."status" in ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
	CONSTRAINT "pipeline_steps_step" CHECK ("pipeline_steps"."step" in ('build-dataset', 'train', 'evaluate', 'gate', 'publish', 'rollout'))
);
--> statement-breakpoint
CREATE TABLE "review_item_votes" (
	"item_id" uuid NOT NULL,
	"labeled_by" text NOT NULL,
	"label" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_item_votes_item_id_labeled_by_pk" PRIMARY KEY("item_id","labeled_by")
);
--> statement-breakpoint
CREATE TABLE "review_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"prediction_id" uuid,
	"source" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"label" text,
	"decided_by" text,
	"decision_rule" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_items_project_sha" UNIQUE("project_id","sha256"),
	CONSTRAINT "review_items_status" CHECK ("review_items"."status" in ('pending', 'accepted', 'rejected')),
	CONSTRAINT "review_items_rule" CHECK ("review_items"."decision_rule" is null or "review_items"."decision_rule" in ('person', 'agreement', 'trusted-labeler'))
);
--> statement-breakpoint
ALTER TABLE "channel_events" DROP CONSTRAINT "channel_events_action";--> statement-breakpoint
ALTER TABLE "corrections" ALTER COLUMN "label" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "candidate_version_id" uuid;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "candidate_share" double precision;--> statement-breakpoint
ALTER TABLE "channels" ADD COLUMN "candidate_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "corrections" ADD COLUMN "unusable" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "labeling_settings" ADD CONSTRAINT "labeling_settings_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_model_id_registered_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."registered_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_champion_version_id_model_versions_id_fk" FOREIGN KEY ("champion_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_runs" ADD CONSTRAINT "pipeline_runs_challenger_version_id_model_versions_id_fk" FOREIGN KEY ("challenger_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_settings" ADD CONSTRAINT "pipeline_settings_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_step_logs" ADD CONSTRAINT "pipeline_step_logs_run_id_pipeline_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_steps" ADD CONSTRAINT "pipeline_steps_run_id_pipeline_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."pipeline_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_item_votes" ADD CONSTRAINT "review_item_votes_item_id_review_items_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."review_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_sha256_blobs_sha256_fk" FOREIGN KEY ("sha256") REFERENCES "public"."blobs"("sha256") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_items" ADD CONSTRAINT "review_items_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pipeline_runs_project" ON "pipeline_runs" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "pipeline_step_logs_run" ON "pipeline_step_logs" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "pipeline_steps_reuse" ON "pipeline_steps" USING btree ("step","inputs_hash","status");--> statement-breakpoint
CREATE INDEX "review_items_inbox" ON "review_items" USING btree ("project_id","status","created_at");--> statement-breakpoint
ALTER TABLE "channels" ADD CONSTRAINT "channels_candidate_version_id_model_versions_id_fk" FOREIGN KEY ("candidate_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_events" ADD CONSTRAINT "channel_events_action" CHECK ("channel_events"."action" in ('promote', 'rollback', 'canary', 'canary-abort'));--> statement-breakpoint
ALTER TABLE "channels" ADD CONSTRAINT "channels_candidate" CHECK (("channels"."candidate_version_id" is null and "channels"."candidate_share" is null and "channels"."candidate_since" is null) or ("channels"."candidate_version_id" is not null and "channels"."candidate_share" > 0 and "channels"."candidate_share" < 1 and "channels"."candidate_since" is not null));--> statement-breakpoint
ALTER TABLE "corrections" ADD CONSTRAINT "corrections_label_or_unusable" CHECK (("corrections"."label" is not null) <> "corrections"."unusable");