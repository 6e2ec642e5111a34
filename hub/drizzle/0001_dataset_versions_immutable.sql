-- A dataset version never changes after it is made: refuse every UPDATE.
CREATE FUNCTION dataset_versions_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'dataset version % is immutable', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER dataset_versions_immutable BEFORE UPDATE ON dataset_versions
  FOR EACH ROW EXECUTE FUNCTION dataset_versions_refuse_update();
