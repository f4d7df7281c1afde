-- The landing files each competência's cube was built from (SIA/SIH files of the processing months
-- that can hold it: the competência and the 3 after it). A later run compares them with the landing:
-- when files of later processing months have landed since (records SIA accepts up to 3 months late),
-- it rebuilds that cube (vigia.sus.pipeline.months_with_late_files). Published with the cube, in the
-- same transaction. Partition: competencia.
CREATE TABLE IF NOT EXISTS sus_cube_files (
    competencia  DATE NOT NULL,
    sistema      VARCHAR NOT NULL,
    arquivo      VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL
)
