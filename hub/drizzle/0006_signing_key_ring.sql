CREATE TABLE "signing_key_ring" (
	"id" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone,
	CONSTRAINT "signing_key_ring_state" CHECK ("signing_key_ring"."state" in ('active', 'trusted', 'retired'))
);
