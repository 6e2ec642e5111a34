CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"stream_id" uuid NOT NULL,
	"detector" text NOT NULL,
	"status" text NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"opened_at_event" bigint NOT NULL,
	"resolved_at" timestamp with time zone,
	"statistic" double precision NOT NULL,
	"threshold" double precision NOT NULL,
	"explanation" jsonb NOT NULL,
	"webhook_status" text,
	CONSTRAINT "alerts_status" CHECK ("alerts"."status" in ('open', 'resolved'))
);
--> statement-breakpoint
CREATE TABLE "monitor_points" (
	"stream_id" uuid NOT NULL,
	"detector" text NOT NULL,
	"event_index" bigint NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"value" double precision NOT NULL,
	"threshold" double precision NOT NULL,
	CONSTRAINT "monitor_points_stream_id_detector_event_index_pk" PRIMARY KEY("stream_id","detector","event_index")
);
--> statement-breakpoint
CREATE TABLE "monitor_rollups" (
	"stream_id" uuid NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"events" integer NOT NULL,
	"class_counts" integer[] NOT NULL,
	"low_confidence" integer NOT NULL,
	"expected_correct" double precision NOT NULL,
	"confidence_histogram" integer[] NOT NULL,
	"latency_histogram" integer[] NOT NULL,
	"backends" jsonb NOT NULL,
	"app_versions" jsonb NOT NULL,
	"devices" jsonb NOT NULL,
	CONSTRAINT "monitor_rollups_stream_id_bucket_pk" PRIMARY KEY("stream_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "monitor_settings" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"min_total_variation" double precision NOT NULL,
	"min_accuracy_drop" double precision NOT NULL,
	"device_cap" double precision NOT NULL,
	"review_rate" double precision NOT NULL,
	"uniform_share" double precision NOT NULL,
	"webhook_url" text,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "monitor_streams" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"cursor_received_at" timestamp with time zone,
	"cursor_id" uuid,
	"events" bigint DEFAULT 0 NOT NULL,
	"admitted" bigint DEFAULT 0 NOT NULL,
	"snapshot" jsonb,
	"state" "bytea",
	"revision" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "monitor_streams_version_channel" UNIQUE("model_version_id","channel")
);
--> statement-breakpoint
CREATE TABLE "reference_profiles" (
	"model_version_id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"encoding" text,
	"summary" jsonb,
	"arrays" "bytea",
	"sha256" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "reference_profiles_status" CHECK ("reference_profiles"."status" in ('computing', 'ready', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "review_assignments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"prediction_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"policy" text NOT NULL,
	"component" text NOT NULL,
	"inclusion_probability" double precision NOT NULL,
	"uncertainty" double precision NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"shown_to" text,
	"shown_at" timestamp with time zone,
	"labeled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_assignments_prediction" UNIQUE("prediction_id"),
	CONSTRAINT "review_assignments_status" CHECK ("review_assignments"."status" in ('queued', 'shown', 'labeled', 'expired')),
	CONSTRAINT "review_assignments_component" CHECK ("review_assignments"."component" in ('uniform', 'uncertainty')),
	CONSTRAINT "review_assignments_probability" CHECK ("review_assignments"."inclusion_probability" > 0 and "review_assignments"."inclusion_probability" <= 1)
);
--> statement-breakpoint
-- Embeddings move from real[] (parsed as text on every read) to float32 little-endian bytes: the same values, read as a view.
ALTER TABLE "predictions" ADD COLUMN "embedding_f32le" bytea;--> statement-breakpoint
UPDATE "predictions" SET "embedding_f32le" = (
  SELECT coalesce(string_agg(substring(f.b from 4 for 1) || substring(f.b from 3 for 1) || substring(f.b from 2 for 1) || substring(f.b from 1 for 1), ''::bytea ORDER BY e.o), ''::bytea)
  FROM unnest("predictions"."embedding") WITH ORDINALITY AS e(v, o), LATERAL float4send(e.v) AS f(b)
);--> statement-breakpoint
ALTER TABLE "predictions" DROP COLUMN "embedding";--> statement-breakpoint
ALTER TABLE "predictions" RENAME COLUMN "embedding_f32le" TO "embedding";--> statement-breakpoint
ALTER TABLE "predictions" ALTER COLUMN "embedding" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "corrections" ADD COLUMN "assignment_id" uuid;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "channel" text DEFAULT 'production' NOT NULL;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "device_id" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "app_version" text;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_stream_id_monitor_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."monitor_streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_points" ADD CONSTRAINT "monitor_points_stream_id_monitor_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."monitor_streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_rollups" ADD CONSTRAINT "monitor_rollups_stream_id_monitor_streams_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."monitor_streams"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_settings" ADD CONSTRAINT "monitor_settings_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_streams" ADD CONSTRAINT "monitor_streams_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitor_streams" ADD CONSTRAINT "monitor_streams_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reference_profiles" ADD CONSTRAINT "reference_profiles_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_assignments" ADD CONSTRAINT "review_assignments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_assignments" ADD CONSTRAINT "review_assignments_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_assignments" ADD CONSTRAINT "review_assignments_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alerts_project" ON "alerts" USING btree ("project_id","status","opened_at");--> statement-breakpoint
CREATE INDEX "monitor_points_time" ON "monitor_points" USING btree ("stream_id","detector","at");--> statement-breakpoint
CREATE INDEX "monitor_streams_project" ON "monitor_streams" USING btree ("project_id");--> statement-breakpoint
CREATE INDEX "review_assignments_queue" ON "review_assignments" USING btree ("project_id","status","uncertainty");--> statement-breakpoint
CREATE INDEX "review_assignments_version" ON "review_assignments" USING btree ("model_version_id","status");--> statement-breakpoint
ALTER TABLE "corrections" ADD CONSTRAINT "corrections_assignment_id_review_assignments_id_fk" FOREIGN KEY ("assignment_id") REFERENCES "public"."review_assignments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "predictions_stream_cursor" ON "predictions" USING btree ("model_version_id","channel","received_at","id");--> statement-breakpoint
-- A ready reference profile is what alerts were computed against: like its model version, it never changes.
CREATE FUNCTION reference_profiles_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'ready' THEN
    RAISE EXCEPTION 'the reference profile of model version % is immutable', OLD.model_version_id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER reference_profiles_immutable BEFORE UPDATE ON reference_profiles
  FOR EACH ROW EXECUTE FUNCTION reference_profiles_refuse_update();
