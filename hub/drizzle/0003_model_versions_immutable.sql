-- A published model version never changes (its files are cached forever): refuse every UPDATE.
CREATE FUNCTION model_versions_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'model version % is immutable', OLD.id USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER model_versions_immutable BEFORE UPDATE ON model_versions
  FOR EACH ROW EXECUTE FUNCTION model_versions_refuse_update();
