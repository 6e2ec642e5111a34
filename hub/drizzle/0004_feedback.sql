CREATE TABLE "corrections" (
	"id" uuid PRIMARY KEY NOT NULL,
	"prediction_id" uuid NOT NULL,
	"label" text NOT NULL,
	"labeled_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"project_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"label" text NOT NULL,
	"confidence" double precision NOT NULL,
	"top_k" jsonb NOT NULL,
	"embedding" real[] NOT NULL,
	"backend" text NOT NULL,
	"latency_ms" double precision NOT NULL,
	"source" text NOT NULL,
	"sent_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "corrections" ADD CONSTRAINT "corrections_prediction_id_predictions_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."predictions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "corrections_prediction" ON "corrections" USING btree ("prediction_id","created_at");--> statement-breakpoint
CREATE INDEX "predictions_project_created" ON "predictions" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "predictions_model_version" ON "predictions" USING btree ("model_version_id","created_at");